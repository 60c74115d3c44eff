export {
  assertAuditEvent,
  assertAuditVerifies,
  countAuditEvents,
  readAuditRecords,
} from './assertions/audit.js';
export { metricSample } from './assertions/metrics.js';
export {
  assertCorrelationId,
  assertNarrationEvent,
  assertNarrationIncludes,
  assertNoNarrationEvent,
  assertNoPointersInNarration,
  assertNoSecretsInNarration,
  type ExpectedFields,
  eventShows,
  eventTexts,
  findPointerOrHandle,
} from './assertions/narration.js';
export { type ProofBundleConfig, proofBundleConfig } from './proof-bundle/config.js';
export { type BackendChoice, chooseBackend } from './scenario/backend-choice.js';
export { NarrationLog } from './scenario/narration-log.js';
export type {
  ManagerSetup,
  Outcome,
  ScenarioAuditLog,
  ScenarioEvidence,
  ScenarioShard,
  ScenarioTree,
} from './scenario/types.js';
export { flipBit, randomBytes, randomToken, smallestChange, tamperField } from './tamper.js';
export {
  VramsealWorld,
  VramWorld,
} from './world.js';
