import { basename } from 'node:path';
import { Formatter, type IFormatterOptions } from '@cucumber/cucumber';
import { chooseBackend } from '../scenario/backend-choice.js';
import { EVIDENCE_MEDIA_TYPE, type EvidenceSummary, pickleLine } from './scenario-evidence.js';

// The few fields of Cucumber Messages this formatter reads.
interface Envelope {
  gherkinDocument?: { uri?: string; feature?: GherkinFeature };
  pickle?: {
    id: string;
    uri: string;
    name: string;
    astNodeIds: string[];
    tags: { name: string }[];
  };
  testCase?: { id: string; pickleId: string };
  testCaseStarted?: { id: string; testCaseId: string };
  testStepFinished?: { testCaseStartedId: string; testStepResult: StepResult };
  testCaseFinished?: { testCaseStartedId: string; willBeRetried?: boolean };
  attachment?: { testCaseStartedId?: string; mediaType: string; body: string };
  testRunStarted?: { timestamp: Timestamp };
  testRunFinished?: { timestamp: Timestamp; success?: boolean };
}
interface Timestamp {
  seconds: number;
  nanos: number;
}
interface StepResult {
  status: string;
  message?: string;
  duration?: Timestamp;
}
interface GherkinScenario {
  id: string;
  name: string;
  keyword: string;
  location: { line: number };
  tags?: { name: string }[];
  examples?: { tableBody?: { id: string; location: { line: number } }[] }[];
}
interface GherkinFeature {
  name: string;
  description?: string;
  children?: {
    scenario?: GherkinScenario;
    rule?: { children?: { scenario?: GherkinScenario }[] };
  }[];
}

interface ScenarioRun {
  /** The Gherkin scenario it came from (every example row of an outline shares it). */
  scenarioId: string;
  uri: string;
  name: string;
  line: number;
  tags: string[];
  status: string;
  message?: string;
  ms: number;
  evidence?: EvidenceSummary;
}

/** Status order: a scenario's status is its worst step's. */
const SEVERITY = ['PASSED', 'SKIPPED', 'PENDING', 'UNDEFINED', 'AMBIGUOUS', 'UNKNOWN', 'FAILED'];

class RunRecord {
  readonly documents = new Map<string, GherkinFeature>();
  readonly pickles = new Map<string, NonNullable<Envelope['pickle']>>();
  readonly testCases = new Map<string, string>();
  readonly started = new Map<string, ScenarioRun>();
  readonly scenarios: ScenarioRun[] = [];
  startedAt?: Timestamp;
  finishedAt?: Timestamp;
  /** Cucumber's own verdict on the run (false when something outside scenarios failed too). */
  success?: boolean;

  take(e: Envelope): void {
    if (e.gherkinDocument?.uri && e.gherkinDocument.feature) {
      this.documents.set(e.gherkinDocument.uri, e.gherkinDocument.feature);
    }
    if (e.pickle) this.pickles.set(e.pickle.id, e.pickle);
    if (e.testCase) this.testCases.set(e.testCase.id, e.testCase.pickleId);
    if (e.testCaseStarted) this.#start(e.testCaseStarted);
    if (e.testStepFinished) this.#step(e.testStepFinished);
    if (e.attachment) this.#attach(e.attachment);
    if (e.testCaseFinished && !e.testCaseFinished.willBeRetried) {
      const run = this.started.get(e.testCaseFinished.testCaseStartedId);
      if (run) this.scenarios.push(run);
    }
    if (e.testRunStarted) this.startedAt = e.testRunStarted.timestamp;
    if (e.testRunFinished) {
      this.finishedAt = e.testRunFinished.timestamp;
      this.success = e.testRunFinished.success;
    }
  }

  #start(started: NonNullable<Envelope['testCaseStarted']>): void {
    const pickle = this.pickles.get(this.testCases.get(started.testCaseId) ?? '');
    if (!pickle) return;
    const feature = this.documents.get(pickle.uri);
    this.started.set(started.id, {
      scenarioId: pickle.astNodeIds[0] ?? '',
      uri: pickle.uri,
      name: pickle.name,
      line: feature ? pickleLine({ feature }, pickle.astNodeIds) : 0,
      tags: pickle.tags.map((t) => t.name),
      status: 'PASSED',
      ms: 0,
    });
  }

  #step(finished: NonNullable<Envelope['testStepFinished']>): void {
    const run = this.started.get(finished.testCaseStartedId);
    if (!run) return;
    const result = finished.testStepResult;
    run.ms += (result.duration?.seconds ?? 0) * 1000 + (result.duration?.nanos ?? 0) / 1e6;
    if (SEVERITY.indexOf(result.status) > SEVERITY.indexOf(run.status)) {
      run.status = result.status;
      run.message = result.message;
    }
  }

  #attach(attachment: NonNullable<Envelope['attachment']>): void {
    if (attachment.mediaType !== EVIDENCE_MEDIA_TYPE || !attachment.testCaseStartedId) return;
    const run = this.started.get(attachment.testCaseStartedId);
    if (run) run.evidence = JSON.parse(attachment.body) as EvidenceSummary;
  }
}

function renderIndex(run: RunRecord): string {
  const backend = chooseBackend();
  const all = run.scenarios;
  const count = (status: string) => all.filter((s) => s.status === status).length;
  const passed = count('PASSED');
  const skipped = count('SKIPPED');
  const failed = all.length - passed - skipped;
  // An empty run proves nothing, and Cucumber may fail a run outside any scenario (a hook).
  const verdict =
    all.length === 0 ? 'NOTHING RAN' : failed > 0 || run.success === false ? 'FAILED' : 'PASSED';
  const checks = all.reduce((n, s) => n + (s.evidence?.narrationChecks ?? 0), 0);
  const withNarration = all.filter((s) => (s.evidence?.narrationChecks ?? 0) > 0).length;
  const lines: string[] = [
    `# BDD proof bundle \`${process.env.VRAMSEAL_RUN_ID ?? 'unnamed run'}\``,
    '',
    `**${verdict}**: ${plural(all.length, 'scenario')} in ` +
      `${plural(run.documents.size, 'feature')}, ${passed} passed, ${failed} not passed` +
      `${skipped > 0 ? `, ${skipped} skipped` : ''}.`,
    '',
    `- Started ${isoOf(run.startedAt)}, took ${seconds(run.startedAt, run.finishedAt)} s; Node ` +
      `${process.version} on ${process.platform}-${process.arch}.`,
    `- Backend: **${backend.kind}** (${backend.reason}).`,
    `- Narration: ${checks} narration assertions; ${withNarration} of ${all.length} scenarios ` +
      'assert on their narration (the After hook fails any scenario that does not).',
    '- Every scenario runs its own VRAM manager with its own audit log, narration and correlation ' +
      'id; after it, the audit log is verified with the audit key and the checkpoint public key.',
    '',
    'Files: [Cucumber messages](messages.ndjson) (NDJSON), [HTML report](report.html), ' +
      '[JUnit XML](junit.xml); per scenario, its narration story and audit verification report ' +
      'under [`scenarios/`](scenarios).',
    '',
    '## Features',
    '',
    '| feature | scenarios | passed |',
    '| --- | ---: | ---: |',
  ];
  const byFeature = groupBy(all, (s) => s.uri);
  for (const [uri, scenarios] of byFeature) {
    const name = run.documents.get(uri)?.name ?? uri;
    const ok = scenarios.filter((s) => s.status === 'PASSED').length;
    lines.push(`| [${escapeCell(name)}](#${anchor(uri)}) | ${scenarios.length} | ${ok} |`);
  }
  for (const [uri, scenarios] of byFeature) {
    const feature = run.documents.get(uri);
    lines.push('', `<a id="${anchor(uri)}"></a>`, `### ${feature?.name ?? uri}`, '');
    lines.push(`\`${basename(uri)}\``);
    const description = feature?.description?.trim();
    if (description) lines.push('', description.replace(/\n\s*/g, ' '));
    lines.push(
      '',
      '| line | scenario | result | ms | narration (events / checks) | audit log | evidence |',
      '| ---: | --- | --- | ---: | --- | --- | --- |',
    );
    for (const s of scenarios.sort((a, b) => a.line - b.line)) lines.push(scenarioRow(s));
  }
  const failures = all.filter((s) => s.status !== 'PASSED' && s.status !== 'SKIPPED');
  if (failures.length > 0) {
    lines.push('', '## Not passed', '');
    for (const s of failures) {
      lines.push(`- \`${basename(s.uri)}:${s.line}\` ${s.name}: **${s.status}**`);
      if (s.message)
        lines.push('', '  ```', indent(s.message.split('\n').slice(0, 12).join('\n')), '  ```');
    }
  }
  const notRun = scenariosNotRun(run);
  if (notRun.length > 0) {
    lines.push('', '## Not run in this run', '');
    for (const s of notRun) {
      const why = s.tags.includes('@gpu')
        ? `tagged @gpu, and this run has no CUDA device (${backend.reason})`
        : 'left out by the tag or name filter of this run';
      lines.push(`- \`${basename(s.uri)}:${s.line}\` ${s.name}: ${why}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function scenarioRow(s: ScenarioRun): string {
  const e = s.evidence;
  const result = s.status === 'PASSED' ? 'passed' : `**${s.status.toLowerCase()}**`;
  const narration = e ? `${e.narrationEvents} / ${e.narrationChecks}` : 'none recorded';
  let audit = 'no manager log';
  if (e?.auditOk === true) audit = `verifies, ${e.auditEvents} events`;
  else if (e?.auditOk === false && e.auditTampered) {
    audit = `does not verify (${e.auditReason}): the scenario edited it on purpose`;
  } else if (e?.auditOk === false) audit = `**DOES NOT VERIFY** (${e.auditReason})`;
  const links = e
    ? [`[story](${e.story})`, e.auditReport ? `[audit](${e.auditReport})` : ''].filter(Boolean)
    : [];
  return `| ${s.line} | ${escapeCell(s.name)} | ${result} | ${Math.round(s.ms)} | ${narration} | ${audit} | ${links.join(' · ')} |`;
}

/** Scenarios in the features that no pickle of this run came from (filtered out by tags). */
function scenariosNotRun(
  run: RunRecord,
): { uri: string; name: string; line: number; tags: string[] }[] {
  // By the scenario's AST id: an outline's examples have names of their own (<placeholders>).
  const ran = new Set(run.scenarios.map((s) => s.scenarioId));
  const out: { uri: string; name: string; line: number; tags: string[] }[] = [];
  for (const [uri, feature] of run.documents) {
    const scenarios = (feature.children ?? []).flatMap((c) => [
      c.scenario,
      ...(c.rule?.children ?? []).map((r) => r.scenario),
    ]);
    for (const s of scenarios) {
      if (!s || ran.has(s.id)) continue;
      out.push({
        uri,
        name: s.name,
        line: s.location.line,
        tags: (s.tags ?? []).map((t) => t.name),
      });
    }
  }
  return out;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return new Map([...groups].sort(([a], [b]) => a.localeCompare(b)));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const anchor = (uri: string) =>
  basename(uri)
    .replace(/\.feature$/, '')
    .replace(/[^a-z0-9]+/gi, '-');
const escapeCell = (text: string) => text.replace(/\|/g, '\\|');
const indent = (text: string) => text.replace(/^/gm, '  ');
const ms = (t?: Timestamp) => (t ? t.seconds * 1000 + t.nanos / 1e6 : 0);
const isoOf = (t?: Timestamp) => (t ? new Date(ms(t)).toISOString() : 'unknown');
const seconds = (a?: Timestamp, b?: Timestamp) => ((ms(b) - ms(a)) / 1000).toFixed(1);

/**
 * A Cucumber formatter that writes the proof bundle's `index.md`: what ran, on which backend, each
 * feature's scenarios with their result, narration and audit evidence, and links to every file, in
 * Markdown a person reads without the rest of the bundle. It learns each scenario's evidence from
 * the JSON the After hook attaches (EVIDENCE_MEDIA_TYPE).
 */
export default class ProofIndexFormatter extends Formatter {
  static override readonly documentation = 'Writes the vramseal proof bundle index.md';
  readonly #run = new RunRecord();

  constructor(options: IFormatterOptions) {
    super(options);
    options.eventBroadcaster.on('envelope', (envelope: Envelope) => {
      this.#run.take(envelope);
      if (envelope.testRunFinished) this.log(renderIndex(this.#run));
    });
  }
}
