// Cucumber runs from this folder (pnpm --filter @vramseal/features test). Step definitions and the
// World come from @vramseal/bdd-world, loaded through tsx so they run from TypeScript source.
// Every run writes its proof bundle to ../.proof_bundle/bdd/<run id>/ (VRAMSEAL_RUN_ID and
// VRAMSEAL_PROOF_DIR change where); reports/ keeps the JUnit file CI counts.
import { resolve } from 'node:path';
import { proofBundleConfig } from '@vramseal/bdd-world';

const bundle = proofBundleConfig({ root: resolve(import.meta.dirname, '..') });
process.stderr.write(
  `backend: ${bundle.backend.kind} (${bundle.backend.reason})\nproof bundle: ${bundle.dir}\n`,
);

// Every feature, unless the command line names some (cucumber-js seal_model.feature).
const namedOnCommandLine = process.argv.some((arg) => /\.feature(:\d+)*$/.test(arg));

export default {
  paths: namedOnCommandLine ? [] : ['*.feature'],
  import: ['support/steps.ts'],
  format: [
    'progress',
    'junit:../reports/junit/cucumber.xml',
    'html:../reports/cucumber.html',
    ...bundle.format,
  ],
  worldParameters: bundle.worldParameters,
  ...(bundle.tags ? { tags: bundle.tags } : {}),
  strict: true,
};
