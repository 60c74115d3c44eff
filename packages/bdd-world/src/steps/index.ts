// Importing this module registers the World, the hooks and every step definition with Cucumber. A
// service that wants vramseal's steps in its own scenarios imports '@vramseal/bdd-world/steps'
// from a support file, exactly as features/support/steps.ts does.
import { setWorldConstructor } from '@cucumber/cucumber';
import { VramWorld } from '../world.js';
import './hooks.js';
import './manager-setup.js';
import './sealing.js';
import './verification.js';
import './state.js';
import './concurrency.js';
import './narration.js';
import './audit-log.js';
import './metrics.js';
import './policy.js';
import './security.js';
import './audit.js';
import './device.js';
import './merkle.js';
import './seal.js';
import './seal-field-state.js';
import './seal-fields.js';
import './key-files.js';
import './stress.js';
import './narration-story.js';
import './metrics-gauges.js';

setWorldConstructor(VramWorld);
