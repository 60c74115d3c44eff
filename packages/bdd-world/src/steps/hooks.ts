import { After, Before, BeforeStep, Status } from '@cucumber/cucumber';
import {
  EVIDENCE_MEDIA_TYPE,
  evidenceFolder,
  pickleLine,
  writeScenarioEvidence,
} from '../proof-bundle/scenario-evidence.js';
import { chooseBackend } from '../scenario/backend-choice.js';
import type { ScenarioEvidence } from '../scenario/types.js';
import type { VramWorld } from '../world.js';

// A run without a CUDA device leaves @gpu scenarios out (proofBundleConfig's `tags`); a run that
// does not filter them gets a visible skip with the reason instead of a failure on the mock.
Before({ tags: '@gpu' }, function (this: VramWorld) {
  const backend = chooseBackend();
  if (backend.kind === 'cuda') return undefined;
  this.log(`skipped: this scenario needs a CUDA device; ${backend.reason}`);
  return 'skipped';
});

Before(function (this: VramWorld, { pickle }) {
  this.featureUri = pickle.uri;
});

// An outcome belongs to the action that produced it: each When step (an action) forgets the last
// one, so a Then can never read the result of an earlier action by mistake.
BeforeStep(function (this: VramWorld, { pickleStep }) {
  if (String(pickleStep.type) === 'Action') {
    this.outcome = undefined;
    this.settled = undefined;
  }
});

/**
 * After every scenario: close its manager and audit log, verify the log, write its evidence into
 * the proof bundle (when the run has one), free everything, and then hold the scenario to the
 * rules every scenario shares (checked only when it passed, so a real failure is not masked).
 */
After(async function (this: VramWorld, { pickle, gherkinDocument, result }) {
  let evidence: ScenarioEvidence;
  try {
    evidence = await this.finish();
    const bundle = (this.parameters as { proofBundle?: unknown } | undefined)?.proofBundle;
    if (typeof bundle === 'string') {
      const line = pickleLine(gherkinDocument, pickle.astNodeIds);
      const folder = evidenceFolder(pickle.uri, line, pickle.name);
      this.attach(
        JSON.stringify(writeScenarioEvidence(bundle, folder, evidence)),
        EVIDENCE_MEDIA_TYPE,
      );
    }
  } finally {
    // Device memory and temp folders go even when closing or writing the evidence failed.
    this.cleanUp();
  }
  if (result?.status !== Status.PASSED) return;
  const broken = sharedRuleBroken(this, evidence);
  if (broken) throw new Error(broken);
});

/** The first rule every passing scenario must also meet, or undefined. */
function sharedRuleBroken(world: VramWorld, evidence: ScenarioEvidence): string | undefined {
  if (evidence.narrationChecks === 0) {
    return 'this scenario asserts nothing about its narration: add a narration step (see the bdd-world README)';
  }
  if (evidence.narrationEvents === 0 && !world.silenceExpected) {
    // A negative check ("has no X event") on an empty narration proves nothing.
    return 'this scenario narrated nothing: if that is the behaviour under test, say so with "Then nothing was narrated"';
  }
  if (world.narration.unreadable.length > 0) {
    return `the narrator wrote ${world.narration.unreadable.length} line(s) that are not JSON`;
  }
  const failures = evidence.observabilityFailures;
  if (failures && failures.narration > 0 && !world.narrationBroken) {
    return `${failures.narration} narration event(s) were refused as invalid or failed to write`;
  }
  if (failures && failures.audit > 0 && !world.auditTampered) {
    return `${failures.audit} audit event(s) failed to write`;
  }
  if (evidence.audit && !evidence.audit.ok && !world.auditTampered) {
    const { reason, firstBadSeq, detail } = evidence.audit;
    return `the scenario's audit log does not verify: ${reason} at record ${firstBadSeq}: ${detail}`;
  }
  if (evidence.closeErrors.length > 0 && !world.closeErrorsExpected) {
    return `closing the scenario failed: ${evidence.closeErrors.join('; ')}`;
  }
  return undefined;
}
