import { afterEach } from 'vitest';
import { closeTestResources } from './helpers.js';

// Every test file: the harnesses a test opened are closed and its temp dirs removed after it.
afterEach(closeTestResources);
