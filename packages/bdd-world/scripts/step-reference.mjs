// Writes the "Step reference" of the README: every step bdd-world registers, the file it lives in,
// and a real use of it from the scenarios in features/ (the first one found). A step no scenario
// uses is an error: it is untested, so either a scenario uses it or it goes.
//   node scripts/step-reference.mjs          rewrite the README section
//   node scripts/step-reference.mjs --check  exit 1 if the section is out of date (a test runs this)
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const here = join(import.meta.dirname, '..');
const stepsDir = join(here, 'src', 'steps');
const featuresDir = join(here, '..', '..', 'features');
const readmePath = join(here, 'README.md');
const START = '<!-- step-reference:start -->';
const END = '<!-- step-reference:end -->';

/** Every `Given|When|Then('expression', ...)` in the step files, in file order. */
export function registeredSteps() {
  const steps = [];
  for (const file of readdirSync(stepsDir)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    const source = readFileSync(join(stepsDir, file), 'utf8');
    for (const m of source.matchAll(/\b(Given|When|Then)\(\s*(['"`])((?:(?!\2).)*)\2\s*,/gs)) {
      steps.push({ keyword: m[1], expression: m[3].replace(/\\'/g, "'"), file });
    }
  }
  return steps;
}

/** A Cucumber expression as an anchored regular expression (the parameter types bdd-world uses). */
export function expressionRegExp(expression) {
  let out = '';
  const tokens = expression.match(/\{[a-z]*\}|\([^)]*\)|[^{(]+/g) ?? [];
  for (const token of tokens) {
    if (token === '{string}') out += `(?:"(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*')`;
    else if (token === '{int}') out += '-?\\d+';
    else if (token === '{float}') out += '-?\\d+(?:\\.\\d+)?';
    else if (token === '{word}') out += '[^\\s]+';
    else if (token.startsWith('(')) out += `(?:${escapeRegExp(token.slice(1, -1))})?`;
    else out += alternatives(token);
  }
  return new RegExp(`^${out}$`);
}

/** `is/are` style alternation inside literal text: a word/word pair becomes (?:is|are). */
function alternatives(text) {
  return text
    .split(/(\S+)/)
    .map((part) =>
      part.includes('/') && !/\s/.test(part)
        ? `(?:${part.split('/').map(escapeRegExp).join('|')})`
        : escapeRegExp(part),
    )
    .join('');
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every step line of every feature: the text after its keyword, with file and line. */
function featureSteps() {
  const lines = [];
  for (const file of readdirSync(featuresDir)
    .filter((f) => f.endsWith('.feature'))
    .sort()) {
    readFileSync(join(featuresDir, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = /^\s*(?:Given|When|Then|And|But|\*) (.+?)\s*$/.exec(line);
        if (m) lines.push({ text: m[1], file, line: i + 1 });
        // A scenario outline's examples may hold whole steps (a <step> placeholder).
        else if (/^\s*\|/.test(line)) {
          for (const cell of line.split('|').slice(1, -1)) {
            lines.push({ text: cell.trim(), file, line: i + 1 });
          }
        }
      });
  }
  return lines;
}

/** Scenario outlines use <placeholders>: they match any parameter. */
function matches(regexp, text) {
  return regexp.test(text) || regexp.test(text.replace(/<[^>]+>/g, '0'));
}

export function stepReference() {
  const uses = featureSteps();
  const unused = [];
  const rows = registeredSteps().map((step) => {
    const regexp = expressionRegExp(step.expression);
    const use = uses.find((u) => matches(regexp, u.text));
    if (!use) unused.push(`${step.file}: ${step.expression}`);
    const example = use ? `\`${use.text.replace(/\|/g, '\\|')}\`` : '';
    const where = use
      ? `[${use.file}:${use.line}](${relative(here, join(featuresDir, use.file))}#L${use.line})`
      : '';
    return `| \`${step.expression.replace(/\|/g, '\\|')}\` | ${step.file} | ${example} | ${where} |`;
  });
  const table = [
    '| step | defined in | example | used in |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  return { table, unused, count: rows.length };
}

/** The README as the repository's formatter (biome) writes it, so `pnpm lint` and this agree. */
function formatted(markdown) {
  const biome = join(here, '..', '..', 'node_modules', '.bin', 'biome');
  return execFileSync(biome, ['format', '--stdin-file-path=README.md'], {
    input: markdown,
    encoding: 'utf8',
  });
}

function section(table) {
  return `${START}\n${table}\n${END}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table, unused, count } = stepReference();
  const readme = readFileSync(readmePath, 'utf8');
  const at = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (at < 0 || end < 0) throw new Error(`README.md has no ${START} ... ${END} markers`);
  const updated = formatted(readme.slice(0, at) + section(table) + readme.slice(end + END.length));
  if (unused.length > 0) {
    console.error(
      `steps no scenario in features/ uses (test them or remove them):\n  ${unused.join('\n  ')}`,
    );
  }
  if (process.argv.includes('--check')) {
    if (updated !== readme)
      console.error('README step reference is out of date: run node scripts/step-reference.mjs');
    process.exit(updated !== readme || unused.length > 0 ? 1 : 0);
  }
  writeFileSync(readmePath, updated);
  console.log(`${count} steps written to the README's step reference`);
  process.exit(unused.length > 0 ? 1 : 0);
}
