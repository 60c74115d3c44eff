export { type ScenarioShard, type ScenarioTree, VramsealWorld } from './world.js';
export { flipBit, randomBytes, tamperField } from './tamper.js';
