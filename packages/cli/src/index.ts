export { CliError, type CliErrorCode, EXIT_CODES, type ExitCode } from './errors.js';
export {
  encodeManifestPayload,
  MANIFEST_FORMAT,
  MANIFEST_MAC_TAG,
  MANIFEST_VERSION,
  type ManifestShard,
  manifestFileProblem,
  manifestMacValid,
  parseManifest,
  readManifest,
  type SealManifest,
  signatureValid,
} from './manifest/manifest.js';
export { main } from './program.js';
export type { Io } from './terminal/terminal.js';
