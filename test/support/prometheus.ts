/**
 * A reader of Prometheus' text exposition format (what /metrics serves), for
 * the metrics specs: samples by name and labels, and the difference between
 * two scrapes.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Scrape {
  constructor(
    readonly samples: Sample[],
    /** metric family name → its TYPE (counter, gauge, histogram…). */
    readonly types: Map<string, string>,
    readonly help: Map<string, string>,
  ) {}

  /**
   * The samples of `name` whose labels include `labels` (values compared
   * exactly), summed; 0 when none matches (a counter not yet incremented).
   */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((n, s) => n + s.value, 0);
  }

  matching(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** Distinct values of one label among the samples of `name`. */
  labelValues(name: string, label: string): string[] {
    return [...new Set(this.matching(name).map((s) => s.labels[label]))].sort();
  }
}

function unescapeLabel(text: string): string {
  return text.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Prometheus reads these case-insensitively (prom-client writes NaN as `Nan`). */
function parseValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a sample value: ${text}`);
  return n;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

/** Parses a whole exposition; throws on a line that is neither a comment nor a sample. */
export function parsePrometheus(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      (comment[1] === 'TYPE' ? types : help).set(comment[2], comment[3]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let l = LABEL.exec(m[2]); l; l = LABEL.exec(m[2])) {
        labels[l[1]] = unescapeLabel(l[2]);
        consumed = LABEL.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels in: ${line}`);
    }
    samples.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  return new Scrape(samples, types, help);
}

/** GETs a /metrics URL and parses it; also returns its content type. */
export async function scrape(
  url: string,
): Promise<{ scrape: Scrape; contentType: string; text: string }> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return {
    scrape: parsePrometheus(text),
    contentType: res.headers.get('content-type') ?? '',
    text,
  };
}
