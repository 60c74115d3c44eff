// The figures a package benchmark printed: every ratio against a named baseline, read from its
// output (the lines its README records). One reader per output style; scripts/bench-table.mjs uses
// them to print the root table.

/** A ratio in a benchmark's output: what was measured, against what, and how to read it. */
function row(figure, ratio, baseline, reads, target = '', others = '') {
  return { figure, ratio: `${ratio}x`, baseline, reads, target, others };
}

const SPEED = 'speed';
const TIME = 'time';
const targetOf = (text) => /target (>=? ?[^;)]+)/.exec(text ?? '')?.[1]?.trim() ?? '';

/**
 * Sections of indented rows (seal-crypto, vram-manager, narration-core): a title line, a baseline
 * row ("(baseline)" / "baseline" at its end, or "(baseline)" in its name), then rows ending in
 * "<ratio>x <baseline name or 'baseline'> [(notes)]".
 */
function sectionRows(output, reads) {
  const rows = [];
  let section = '';
  let baseline = '';
  let others = '';
  for (const line of output.split('\n')) {
    if (/^\S/.test(line)) {
      // "[other processes: 35% of the CPUs]": what else ran meanwhile (the bench reads /proc/stat).
      others = /\[other processes: (\d+%)[^\]]*\]\s*$/.exec(line)?.[1] ?? '';
      section = line.replace(/\s*\[other processes:[^\]]*\]\s*$/, '').trim();
      baseline = '';
      continue;
    }
    const m = /^ {2}(\S.*?)\s{2,}(.*)$/.exec(line);
    if (!m) continue;
    const [, name, rest] = m;
    const r = /(?:^|\s)(\d+(?:\.\d+)?)x(?: (.*))?$/.exec(rest);
    if (name.includes('(baseline)') || (!r && /\bbaseline\)?$/.test(rest))) {
      baseline = name.replace(/\s*\(baseline\)$/, '');
      continue;
    }
    if (!r) continue;
    const [, ratio, after = ''] = r;
    // "0.67x baseline (target ...)" names the section's baseline row; "1.46x pino.info(fields)" its own.
    const against = after.startsWith('baseline') ? baseline : after.replace(/\s+\(.*\)$/, '');
    rows.push(row(`${section}: ${name}`, ratio, against, reads, targetOf(after), others));
  }
  return rows;
}

/** cuda-ffi: "<figure>: <rate> vs <baseline> <rate> -> <ratio>x [of ...] [(target ...)]". */
function arrowRows(output) {
  const rows = [];
  for (const line of output.split('\n')) {
    const m = /^([^:]+): (\S+ \S+) vs (.+?) (\d[\d.]* \S+) -> (\d+(?:\.\d+)?)x(.*)$/.exec(line);
    if (m) rows.push(row(m[1], m[5], m[3], SPEED, targetOf(m[6])));
  }
  return rows;
}

/** audit-logging: "<figure>: <rate> | baseline <name>: <rate> | ratio <r> (<notes>)". */
function pipeRows(output) {
  const rows = [];
  const absolute = [];
  for (const line of output.split('\n')) {
    const m =
      /^([^:|]+): .*\| baseline (.+?): [\d,.]+ \S+ \| ratio (\d+(?:\.\d+)?)(?: \((.*)\))?$/.exec(
        line,
      );
    if (m) rows.push(row(m[1], m[3], m[2], SPEED, targetOf(m[4])));
    else if (/^[^:]+: [\d,.]+ events\/s/.test(line)) absolute.push(line.trim());
  }
  return { rows, absolute };
}

/** The figures of one package's output: rows with ratios, and rates printed without a baseline. */
export function figuresOf(dir, output) {
  if (dir === 'cuda-ffi') return { rows: arrowRows(output), absolute: [] };
  if (dir === 'audit-logging') return pipeRows(output);
  return { rows: sectionRows(output, dir === 'narration-core' ? TIME : SPEED), absolute: [] };
}
