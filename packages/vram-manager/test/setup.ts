import { afterAll, afterEach, expect } from 'vitest';
import { closeTestResources, openHarnesses } from './helpers.js';

// Every test file: the harnesses a test opened are closed and its temp dirs removed after it.
afterEach(closeTestResources);
afterAll(() => {
  expect(openHarnesses(), 'a harness outlived its test').toBe(0);
});
