// Adds up every test that ran: the JUnit reports written by vitest, ctest, cucumber and the pack
// check (reports/junit/*.xml), plus the steps of scripts/test.sh (reports/steps.ndjson). Prints the
// failures, then one line "N passed, N failed" and exits non-zero if anything failed or nothing ran.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const reportsDir = process.argv[2] ?? 'reports';

/** One <testcase> element: self-closing, or with a body that may hold <failure>/<error>/<skipped>. */
const TESTCASE = /<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g;
const attr = (attrs, name) => new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1];

function countJUnit(file) {
  const xml = readFileSync(file, 'utf8');
  const totals = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const [, attrs, body = ''] of xml.matchAll(TESTCASE)) {
    const status = attr(attrs, 'status');
    if (/<(failure|error)\b/.test(body) || status === 'fail' || status === 'failed') {
      totals.failed++;
      totals.failures.push(`${attr(attrs, 'classname') ?? ''} > ${attr(attrs, 'name') ?? '?'}`);
    } else if (/<skipped\b/.test(body) || status === 'notrun' || status === 'disabled') {
      totals.skipped++;
    } else {
      totals.passed++;
    }
  }
  return totals;
}

const total = { passed: 0, failed: 0, skipped: 0 };
const junitDir = join(reportsDir, 'junit');
const files = existsSync(junitDir) ? readdirSync(junitDir).filter((f) => f.endsWith('.xml')) : [];
for (const name of files.sort()) {
  const t = countJUnit(join(junitDir, name));
  console.log(`${name.padEnd(36)} ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
  for (const f of t.failures) console.log(`  FAILED ${f}`);
  total.passed += t.passed;
  total.failed += t.failed;
  total.skipped += t.skipped;
}

const stepsFile = join(reportsDir, 'steps.ndjson');
if (existsSync(stepsFile)) {
  for (const line of readFileSync(stepsFile, 'utf8').split('\n').filter(Boolean)) {
    const step = JSON.parse(line);
    console.log(`step ${step.name.padEnd(31)} ${step.result === 'pass' ? 'ok' : 'FAILED'}`);
    if (step.result === 'pass') total.passed++;
    else total.failed++;
  }
}

if (total.passed + total.failed === 0) console.log('no test ran: that is a failure');
const skipped = total.skipped ? `, ${total.skipped} skipped` : '';
console.log(`${total.passed} passed, ${total.failed} failed${skipped}`);
process.exit(total.failed > 0 || total.passed === 0 ? 1 : 0);
