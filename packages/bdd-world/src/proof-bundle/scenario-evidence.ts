import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ScenarioEvidence } from '../scenario/types.js';

/** The media type of the summary each scenario attaches; the index formatter reads it. */
export const EVIDENCE_MEDIA_TYPE = 'application/vnd.vramseal.scenario-evidence+json';

/** What a scenario's attachment says: its counts and its files, relative to the bundle. */
export interface EvidenceSummary {
  readonly narrationEvents: number;
  readonly narrationChecks: number;
  readonly auditChecks: number;
  readonly auditEvents: number;
  readonly auditOk: boolean | null;
  readonly auditReason: string | null;
  /** A step edited or broke the log on purpose: a failing verification is then the expected one. */
  readonly auditTampered: boolean;
  readonly story: string;
  readonly auditReport: string | null;
}

interface AstNode {
  readonly id?: string;
  readonly location?: { readonly line: number };
  readonly examples?: readonly { readonly tableBody?: readonly AstNode[] }[];
}

/** Enough of a Gherkin document to find a scenario's line. */
export interface GherkinDocumentLike {
  readonly feature?: {
    readonly children?: readonly {
      readonly scenario?: AstNode;
      readonly rule?: { readonly children?: readonly { readonly scenario?: AstNode }[] };
    }[];
  };
}

/**
 * The line of a pickle in its feature file: the example row for an outline, else the scenario.
 * Stable across runs (unlike pickle ids), so evidence folders keep their names.
 */
export function pickleLine(document: GherkinDocumentLike, astNodeIds: readonly string[]): number {
  const scenarios = (document.feature?.children ?? []).flatMap((child) => [
    child.scenario,
    ...(child.rule?.children ?? []).map((c) => c.scenario),
  ]);
  const scenario = scenarios.find((s) => s?.id === astNodeIds[0]);
  if (!scenario) return 0;
  const row = scenario.examples
    ?.flatMap((examples) => examples.tableBody ?? [])
    .find((r) => r.id === astNodeIds[1]);
  return (row ?? scenario).location?.line ?? 0;
}

/** `scenarios/<feature>/<line>-<slug-of-name>`: one folder per scenario (per example row). */
export function evidenceFolder(uri: string, line: number, name: string): string {
  const feature = basename(uri).replace(/\.feature$/, '');
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
  return join('scenarios', feature, `${String(line).padStart(4, '0')}-${slug || 'scenario'}`);
}

/**
 * Writes a scenario's narration story snapshot and its audit verification report under the
 * bundle, and returns the summary the scenario attaches for the index.
 */
export function writeScenarioEvidence(
  bundleDir: string,
  folder: string,
  evidence: ScenarioEvidence,
): EvidenceSummary {
  const dir = join(bundleDir, folder);
  mkdirSync(dir, { recursive: true });
  const story = join(folder, 'narration.txt');
  writeFileSync(
    join(bundleDir, story),
    evidence.story.length > 0 ? `${evidence.story}\n` : '(this scenario narrated nothing)\n',
  );
  let auditReport: string | null = null;
  if (evidence.audit) {
    auditReport = join(folder, 'audit-verification.json');
    const { latestCheckpoint, ...report } = evidence.audit;
    const written = {
      ...report,
      latestCheckpoint: latestCheckpoint
        ? {
            treeSize: latestCheckpoint.treeSize,
            root: latestCheckpoint.root,
            time: latestCheckpoint.time,
          }
        : null,
      observabilityFailures: evidence.observabilityFailures,
      closeErrors: evidence.closeErrors,
    };
    writeFileSync(join(bundleDir, auditReport), `${JSON.stringify(written, null, 2)}\n`);
  }
  return {
    narrationEvents: evidence.narrationEvents,
    narrationChecks: evidence.narrationChecks,
    auditChecks: evidence.auditChecks,
    auditEvents: evidence.auditEvents,
    auditOk: evidence.audit ? evidence.audit.ok : null,
    auditReason: evidence.audit?.reason ?? null,
    auditTampered: evidence.auditTampered,
    story,
    auditReport,
  };
}
