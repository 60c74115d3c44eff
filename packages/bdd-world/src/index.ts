export { flipBit, randomBytes, tamperField } from './tamper.js';
export {
  type ScenarioAuditLog,
  type ScenarioShard,
  type ScenarioTree,
  VramsealWorld,
} from './world.js';
