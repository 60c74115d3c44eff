// Records one step of scripts/test.sh (lint, build, ...) as a JUnit test case, so the summary line
// counts it like any other test.
import { appendFileSync, mkdirSync } from 'node:fs';

const [name, result, seconds] = process.argv.slice(2);
if (!name || (result !== 'pass' && result !== 'fail')) {
  console.error('usage: node scripts/record-step.mjs <name> pass|fail <seconds>');
  process.exit(2);
}
mkdirSync('reports', { recursive: true });
appendFileSync(
  'reports/steps.ndjson',
  `${JSON.stringify({ name, result, seconds: Number(seconds) })}\n`,
);
console.log(`=== ${name}: ${result === 'pass' ? 'ok' : 'FAILED'} (${seconds}s)`);
