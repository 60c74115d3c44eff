/**
 * The value of one sample in a Prometheus text exposition: `name` or `name{label="value",...}`
 * exactly as prom-client writes it (labels in the order registered). Undefined when absent.
 */
export function metricSample(exposition: string, sample: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && line.slice(0, space) === sample) return Number(line.slice(space + 1));
  }
  return undefined;
}
