// Importing this module registers the World and every step definition with Cucumber. A service
// that wants vramseal's steps in its own scenarios imports '@vramseal/bdd-world/steps' from a
// support file, exactly as features/support/steps.ts does.
import { After, setWorldConstructor } from '@cucumber/cucumber';
import { VramsealWorld } from '../world.js';
import './audit.js';
import './device.js';
import './merkle.js';
import './seal.js';

setWorldConstructor(VramsealWorld);

After(function (this: VramsealWorld) {
  this.cleanUp();
});
