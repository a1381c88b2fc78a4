/** Reads one sample from Prometheus text: the metric with exactly these labels, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string | number>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (have === wanted) return Number(match[3]);
  }
  return undefined;
}

/** Every sample of a metric, with its label strings (for "is gone" assertions). */
export function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

/** The sum of the samples whose labels include these (others may differ), or undefined when none has them. */
export function sampleWith(text: string, name: string, labels: Record<string, string | number>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let total: number | undefined;
  for (const line of samples(text, name)) {
    const match = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const have = new Set((match[1] ?? '').split(/,(?=[a-z_]+=")/));
    if (wanted.every((label) => have.has(label))) total = (total ?? 0) + Number(match[2]);
  }
  return total;
}
