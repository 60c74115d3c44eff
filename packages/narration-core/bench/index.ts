/**
 * Benchmarks, each printed as a ratio against a named baseline measured in the same run:
 *
 * 1. narrate(): `narrator.info(fields)` (sanitising + redaction on; rate limit off, then on with
 *    a limit never reached, as in the default configuration) against plain `pino().info(fields)`
 *    of the same fields, both writing to the same null destination; 21 interleaved rounds.
 * 2. redactSecrets() of a 100-character sentence (with and without a secret) against
 *    JSON.stringify of the same sentence (the least any logger does with it).
 * 3. redactSecrets() of 1 MB adversarial inputs (time per MB), to show linear behaviour.
 *
 * Run: pnpm bench   (node --conditions=@vramseal/source --import tsx bench/index.ts)
 */
import { performance } from 'node:perf_hooks';
import { createNarrator, redactSecrets } from '@vramseal/narration-core';
import pino from 'pino';

const nullDestination = { write(_line: string) {} };

// 1024 distinct events (distinct `human` sentences, so no cache can remember the last call's
// sentence), built up front as object literals: building them inside the timed loop would
// measure the allocation, not the loggers. pino gets the same fields plus the `actor` that a
// narrator adds itself.
const eventFields = (i: number) => ({
  action: 'seal',
  target: `shard-${i % 16}`,
  human: `Sealed shard ${i % 16} of llama-3-8b on GPU${i % 8} in ${400 + (i % 97)} ms.`,
  correlation_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  worker_id: 'worker-7',
  shard_id: `shard-${i % 16}`,
  device: `GPU${i % 8}`,
  model_ref: 'hf:meta-llama/Meta-Llama-3-8B',
  duration_ms: 400 + (i % 97),
});
const narrateEvents = Array.from({ length: 1024 }, (_, i) => eventFields(i));
const pinoEvents = Array.from({ length: 1024 }, (_, i) => ({
  actor: 'vram-manager',
  ...eventFields(i),
}));
let next = 0;
const nextIndex = () => next++ & 1023;

/** Median ns/op over `rounds` rounds of `iterations` calls; rounds interleave the candidates. */
function measure(candidates: Record<string, () => void>, iterations: number, rounds = 9) {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(candidates)) samples[name] = [];
  for (let round = 0; round < rounds + 1; round++) {
    for (const [name, fn] of Object.entries(candidates)) {
      const start = performance.now();
      for (let i = 0; i < iterations; i++) fn();
      const ns = ((performance.now() - start) * 1e6) / iterations;
      if (round > 0) samples[name]?.push(ns); // round 0 warms up
    }
  }
  const result: Record<string, number> = {};
  for (const [name, values] of Object.entries(samples)) {
    values.sort((a, b) => a - b);
    result[name] = values[Math.floor(values.length / 2)] ?? Number.NaN;
  }
  return result;
}

function report(title: string, results: Record<string, number>, baseline: string) {
  const base = results[baseline] ?? Number.NaN;
  console.log(`\n${title}`);
  for (const [name, ns] of Object.entries(results)) {
    const ratio = name === baseline ? 'baseline' : `${(ns / base).toFixed(2)}x ${baseline}`;
    console.log(`  ${name.padEnd(44)} ${ns.toFixed(0).padStart(7)} ns/op  ${ratio}`);
  }
}

const plainPino = pino({}, nullDestination);
const narrator = createNarrator({
  actor: 'vram-manager',
  destination: nullDestination,
  sample: false,
  emittedBy: '@vramseal/bench@0.0.0',
});
const narratorWithSampling = createNarrator({
  actor: 'vram-manager',
  destination: nullDestination,
  sample: { maxPerWindow: 1e9 },
  emittedBy: '@vramseal/bench@0.0.0',
});

report(
  'narrate() vs plain pino.info(), same 9 fields, same null destination',
  measure(
    {
      'pino.info(fields)': () => plainPino.info(pinoEvents[nextIndex()]),
      'narrator.info(fields) (redaction on)': () => narrator.info(narrateEvents[nextIndex()]!),
      'narrator.info(fields) (+ rate limiter on)': () =>
        narratorWithSampling.info(narrateEvents[nextIndex()]!),
    },
    20_000,
    21,
  ),
  'pino.info(fields)',
);

const sentence =
  'Verified shard 3 of llama-3-8b on GPU0 against its seal; tree root matched in 87 ms ok.';
const secretSentence =
  'Retrying upload with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.x9';
console.log(`\n(sentences: ${sentence.length} and ${secretSentence.length} chars)`);
report(
  'redactSecrets() of a ~100-char sentence',
  measure(
    {
      'JSON.stringify(sentence)': () => JSON.stringify(sentence),
      'redactSecrets(clean sentence)': () => redactSecrets(sentence),
      'redactSecrets(sentence with a bearer JWT)': () => redactSecrets(secretSentence),
    },
    50_000,
  ),
  'JSON.stringify(sentence)',
);

const MB = 1024 * 1024;
const adversarial: Record<string, string> = {
  'plain text (baseline)': 'The quick brown fox jumps. '.repeat(MB / 27 + 1).slice(0, MB),
  'eyJ-eyJ- runs (JWT prefix)': 'eyJ-'.repeat(MB / 4),
  '"token=" unterminated quotes': 'token="'.repeat(MB / 7 + 1).slice(0, MB),
  'a://a:a: (URL userinfo)': 'a://a:'.repeat(MB / 6 + 1).slice(0, MB),
  'BEGIN PRIVATE KEY, never ended': `-----BEGIN PRIVATE KEY-----${'A'.repeat(MB)}`,
  'bearer + spaces': 'bearer '.repeat(MB / 7 + 1).slice(0, MB),
  'ghp_ near misses': 'ghp_aaaa '.repeat(MB / 9 + 1).slice(0, MB),
};
const adversarialResults: Record<string, number> = {};
for (const [name, text] of Object.entries(adversarial)) {
  adversarialResults[name] =
    measure({ [name]: () => redactSecrets(text) }, 1, 5)[name] ?? Number.NaN;
}
console.log('\nredactSecrets() of 1 MB inputs (ms per MB)');
const plain = adversarialResults['plain text (baseline)'] ?? Number.NaN;
for (const [name, ns] of Object.entries(adversarialResults)) {
  console.log(
    `  ${name.padEnd(44)} ${(ns / 1e6).toFixed(2).padStart(7)} ms  ${(ns / plain).toFixed(1)}x plain text`,
  );
}
