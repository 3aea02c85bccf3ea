/**
 * The engine bake-off's generated collection: deterministic (event i depends only
 * on the seed and i), spread over 30 local days in America/New_York that include
 * the 2024-03-10 DST change, with ~20 properties: nested objects, a mixed-type
 * property, a high-cardinality user id and an array.
 */

/** 2024-02-25T00:00 in New York (EST, UTC-5). */
export const BAKEOFF_START = Date.UTC(2024, 1, 25, 5);
/** 2024-03-26T00:00 in New York (EDT, UTC-4): 30 local days, one of them 23 hours long. */
export const BAKEOFF_END = Date.UTC(2024, 2, 26, 4);
export const BAKEOFF_ZONE = 'America/New_York';
/** The same bounds as local wall-clock times, read in BAKEOFF_ZONE by the engine. */
export const BAKEOFF_LOCAL_TIMEFRAME = { start: '2024-02-25T00:00:00', end: '2024-03-26T00:00:00' };

const COUNTRIES = ['US', 'FR', 'DE', 'JP', 'BR', 'GB', 'IN', 'CA', 'ES', 'IT', 'MX', 'NL'];
const TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'signup', 'search'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const OSES = ['windows', 'macos', 'linux', 'ios', 'android'];
const BROWSERS = ['chrome', 'firefox', 'safari', 'edge'];
const REFERRERS = ['google.com', 'bing.com', 'news.ycombinator.com', 'twitter.com', 'direct'];
const CAMPAIGNS = ['spring', 'launch', 'retarget', 'newsletter'];
const TAGS = ['new', 'sale', 'featured', 'clearance', 'gift', 'eco'];
const SCORE_WORDS = ['high', 'low', 'n/a'];

export interface BakeoffEvent {
  id: string;
  ts: number;
  body: Record<string, unknown>;
}

/** mulberry32 seeded by (seed, i): a generator per event, so any event is computed alone. */
function rng(seed: number, i: number): () => number {
  let a = (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

/**
 * `score` is the mixed-type property: a number (55%), a word (20%), a numeric
 * string such as "42" or "7.5" (5%, which Keen compares numerically), null
 * (10%) or missing (10%). `price` is a multiple of 0.25, so sums are exact in
 * any order of addition.
 */
export function bakeoffEvent(seed: number, i: number, total: number): BakeoffEvent {
  const r = rng(seed, i);
  const ts = BAKEOFF_START + Math.floor((i / total) * (BAKEOFF_END - BAKEOFF_START));
  const id = i.toString(16).padStart(24, '0');
  const iso = new Date(ts).toISOString();
  const users = Math.max(1000, Math.floor(total / 5));
  const user: Record<string, unknown> = {
    country: pick(r, COUNTRIES),
    premium: r() < 0.2,
    plan: pick(r, ['free', 'pro', 'team']),
  };
  if (r() >= 0.05) user.id = `u${Math.floor(r() * users)}`;
  if (r() >= 0.1) user.age = 18 + Math.floor(r() * 60);
  const product: Record<string, unknown> = { id: `p${Math.floor(r() * 5000)}` };
  if (r() >= 0.02) product.category = `cat${Math.floor(r() * 200)}`;
  const body: Record<string, unknown> = {
    type: pick(r, TYPES),
    user,
    page: {
      path: `/page/${Math.floor(r() * 500)}`,
      referrer: r() < 0.3 ? null : pick(r, REFERRERS),
    },
    device: { type: pick(r, DEVICES), os: pick(r, OSES), browser: pick(r, BROWSERS) },
    product,
    price: Math.floor(r() * 4000) / 4,
    quantity: 1 + Math.floor(r() * 5),
    session: { id: `s${Math.floor(i / 8)}` },
    tags: TAGS.filter(() => r() < 0.25),
    is_test: r() < 0.01,
  };
  if (r() >= 0.05) body.duration = Math.floor(r() * 60_000);
  const s = r();
  if (s < 0.55) body.score = Math.floor(r() * 101);
  else if (s < 0.75) body.score = pick(r, SCORE_WORDS);
  else if (s < 0.8)
    body.score = r() < 0.5 ? String(Math.floor(r() * 101)) : `${Math.floor(r() * 100)}.5`;
  else if (s < 0.9) body.score = null;
  if (r() < 0.5) body.campaign = pick(r, CAMPAIGNS);
  body.keen = { id, timestamp: iso, created_at: iso };
  return { id, ts, body };
}

/** Events [from, to) of the collection, generated in order. */
export function* bakeoffEvents(
  seed: number,
  total: number,
  from = 0,
  to = total,
): Generator<BakeoffEvent> {
  for (let i = from; i < to; i++) yield bakeoffEvent(seed, i, total);
}

/**
 * Keen's numeric strings (docs/query-language.md, Comparisons): decimal text with
 * optional surrounding blanks, sign, fraction and exponent; not hex, not Infinity.
 */
const NUMERIC_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
export function numericText(s: string): number | null {
  return NUMERIC_TEXT.test(s) ? Number(s) : null;
}

export type Kind = 's' | 'n' | 'b' | 'z' | 'a' | 'ns';

/**
 * The typed side columns of an event: one per (path, JSON type) that occurs,
 * named `path:kind` (s string, n number, b boolean, z null flag, a array as JSON
 * text, ns the value of a numeric string). Objects are walked; `keen.*` is left
 * to the id and ts columns.
 */
export function flatten(
  body: Record<string, unknown>,
  out: Map<string, unknown>,
  prefix = '',
): Map<string, unknown> {
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || (prefix === '' && key === 'keen')) continue;
    const path = prefix + key;
    if (value === null) out.set(`${path}:z`, true);
    else if (Array.isArray(value)) out.set(`${path}:a`, JSON.stringify(value));
    else if (typeof value === 'object') flatten(value as Record<string, unknown>, out, `${path}.`);
    else if (typeof value === 'number') out.set(`${path}:n`, value);
    else if (typeof value === 'boolean') out.set(`${path}:b`, value);
    else if (typeof value === 'string') {
      out.set(`${path}:s`, value);
      const n = numericText(value);
      if (n !== null) out.set(`${path}:ns`, n);
    }
  }
  return out;
}

export const kindOf = (column: string): Kind => column.slice(column.lastIndexOf(':') + 1) as Kind;
