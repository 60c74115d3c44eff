import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMON_OPTIONAL_FIELDS, EVENT_SCHEMAS, type FieldKind } from '@vramseal/audit-logging';
import { describe, expect, it } from 'vitest';

/**
 * The README's event table is generated from EVENT_SCHEMAS, the same table the types and the
 * validator come from. Run with UPDATE_GOLDENS=1 to rewrite it after changing a schema.
 */
const readmePath = new URL('../README.md', import.meta.url);
const BEGIN = '<!-- event-table:begin (generated from EVENT_SCHEMAS by test/readme.test.ts) -->';
const END = '<!-- event-table:end -->';

const kind = (k: FieldKind) => (typeof k === 'string' ? k : k.map((v) => `\`${v}\``).join(' \\| '));
const fields = (f: Readonly<Record<string, FieldKind>> | undefined) =>
  f === undefined || Object.keys(f).length === 0
    ? '-'
    : Object.entries(f)
        .map(([name, k]) => `\`${name}\` (${kind(k)})`)
        .join(', ');

function renderTable(): string {
  const rows = Object.entries(EVENT_SCHEMAS).map(([type, s]) => {
    const severity = s.severity === 'critical' ? '**critical**' : s.severity;
    const optional = 'optional' in s ? (s.optional as Record<string, FieldKind>) : undefined;
    return `| \`${type}\` | ${s.category} | ${severity} | ${fields(s.required)} | ${fields(optional)} | ${s.description} |`;
  });
  const common = Object.keys(COMMON_OPTIONAL_FIELDS)
    .map((f) => `\`${f}\``)
    .join(', ');
  return [
    BEGIN,
    '| type | category | severity | required fields | optional fields | meaning |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Every event may also carry ${common} (text). \`system\` events are written by the logger itself; \`emit\` refuses them.`,
    END,
  ].join('\n');
}

/** Table layout is the formatter's business (biome aligns columns); compare the cells. */
const normalize = (table: string) =>
  table
    .split('\n')
    .map((line) =>
      line
        .replace(/\s*\|\s*/g, '|')
        .replace(/-{3,}/g, '---')
        .trimEnd(),
    )
    .join('\n');

describe('README', () => {
  it('documents every event type exactly as EVENT_SCHEMAS defines it', () => {
    const readme = fs.readFileSync(readmePath, 'utf8');
    const start = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    expect(start, 'README is missing the event table markers').toBeGreaterThanOrEqual(0);
    const current = readme.slice(start, end + END.length);
    const expected = renderTable();
    if (process.env.UPDATE_GOLDENS === '1' && normalize(current) !== normalize(expected)) {
      fs.writeFileSync(
        readmePath,
        readme.slice(0, start) + expected + readme.slice(end + END.length),
      );
      return;
    }
    expect(normalize(current)).toBe(normalize(expected));
  });

  it('opens with an example that runs and prints what its comments say', () => {
    const readme = fs.readFileSync(readmePath, 'utf8');
    const start = readme.indexOf('```ts\n') + 6;
    const example = readme.slice(start, readme.indexOf('```\n', start));
    // The example is plain JavaScript in a ts fence: run it as a module from the package root.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vramseal-readme-'));
    const r = spawnSync(
      process.execPath,
      ['--conditions=@vramseal/source', '--import', 'tsx', '--input-type=module', '-e', example],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        encoding: 'utf8',
        env: { ...process.env, TMPDIR: scratch }, // where the example's mkdtemp lands
      },
    );
    fs.rmSync(scratch, { recursive: true, force: true });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1 segment-000001.ndjson\ntrue 2 null null\n');
  });
});
