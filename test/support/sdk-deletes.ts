import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { http as request } from './http';

// The CommonJS module objects themselves: the ones keen-analysis' require() gets.
const https = require('https');
const KeenAnalysis = require('keen-analysis');

/** Where the SDKs are pointed: a standalone server, or nginx in front of the split stack. */
export interface SdkTarget {
  port: number;
  keys: { id: string; write_key: string; read_key: string; master_key: string };
}

const baseUrl = (t: SdkTarget) => `http://127.0.0.1:${t.port}`;
const collectionUrl = (t: SdkTarget, collection: string) =>
  `${baseUrl(t)}/3.0/projects/${t.keys.id}/events/${collection}`;

/**
 * The unmodified keen-analysis client. Its Node build calls https.request with
 * the hostname only (port and protocol dropped): pointed at the plain-HTTP
 * port here, in the test, while the client is in use (as keen-clients.ts does).
 */
export function keenAnalysisFor(target: SdkTarget): { analysis: any; restore(): void } {
  const realRequest = https.request;
  https.request = (options: http.RequestOptions, callback: (res: http.IncomingMessage) => void) =>
    http.request({ ...options, host: '127.0.0.1', port: target.port }, callback);
  const analysis = new KeenAnalysis({
    projectId: target.keys.id,
    readKey: target.keys.read_key,
    masterKey: target.keys.master_key,
    host: '127.0.0.1',
    protocol: 'https',
  });
  return { analysis, restore: () => (https.request = realRequest) };
}

const VENV = path.join(process.env.TALLY_CACHE_DIR || path.join(os.homedir(), '.cache', 'tally'), 'py-keen-0.7.0');
const PYTHON = path.join(VENV, 'bin', 'python');

/** The unmodified PyPI client in its own virtualenv (the one python-keen.e2e-spec.ts creates). */
export function ensurePythonKeen(): void {
  if (fs.existsSync(PYTHON) && fs.existsSync(path.join(VENV, '.installed'))) return;
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '-q', 'keen==0.7.0'], { stdio: 'inherit' });
  fs.writeFileSync(path.join(VENV, '.installed'), 'keen==0.7.0\n');
}

/** One step of test/python/keen_deletes.py; its printed JSON. */
export function pythonKeen(target: SdkTarget, collection: string, step: 'write' | 'delete', env: Record<string, string>): unknown {
  const stdout = execFileSync(PYTHON, [path.join(__dirname, '../python/keen_deletes.py'), step], {
    env: {
      ...process.env,
      TALLY_URL: baseUrl(target),
      TALLY_PROJECT: target.keys.id,
      TALLY_WRITE_KEY: target.keys.write_key,
      TALLY_READ_KEY: target.keys.read_key,
      TALLY_MASTER_KEY: target.keys.master_key,
      TALLY_COLLECTION: collection,
      ...env,
    },
    timeout: 60_000,
  }).toString();
  return JSON.parse(stdout);
}

export interface SentEvent {
  n: number;
  kind: 'a' | 'b' | 'c';
  keen: { timestamp: string };
}

/**
 * Twelve events: kinds a/b/c in turn; eight in an old window (2024-05-01,
 * one an hour), four within the last minutes (so `this_2_hours` holds
 * exactly them, and an absolute window can hold the old ones).
 */
export function sdkDeleteEvents(now = Date.now()): SentEvent[] {
  return Array.from({ length: 12 }, (_, n) => ({
    n,
    kind: (['a', 'b', 'c'] as const)[n % 3],
    keen: {
      timestamp: new Date(n < 8 ? Date.UTC(2024, 4, 1) + n * 3600_000 : now - (n - 7) * 60_000).toISOString(),
    },
  }));
}

export const OLD_WINDOW = { start: '2024-05-01T02:00:00.000Z', end: '2024-05-01T05:00:00.000Z' };

/** n → keen.id of what the collection holds now (an extraction with the read key). */
export async function storedIds(target: SdkTarget, collection: string): Promise<Map<number, string>> {
  const res = await request(
    'GET',
    `${baseUrl(target)}/3.0/projects/${target.keys.id}/queries/extraction?event_collection=${collection}`,
    { key: target.keys.read_key },
  );
  if (res.status !== 200) throw new Error(`extraction answered ${res.status}: ${res.text.slice(0, 300)}`);
  return new Map(
    (res.body.result as Array<{ n: number; keen: { id: string } }>).map((e) => [e.n, e.keen.id]),
  );
}

/** Polls until the collection holds `count` events (the split stack stores after it acknowledges). */
export async function waitForStored(
  target: SdkTarget,
  collection: string,
  count: number,
  timeoutMs = 30_000,
): Promise<Map<number, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = await storedIds(target, collection);
    if (ids.size === count || Date.now() > deadline) return ids;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Writes the events as one batch over plain HTTP (the write path is not under test here). */
export async function writeBatch(target: SdkTarget, collection: string, events: SentEvent[]): Promise<void> {
  const res = await request('POST', `${baseUrl(target)}/3.0/projects/${target.keys.id}/events`, {
    body: { [collection]: events },
    key: target.keys.write_key,
  });
  if (res.status !== 200 || res.body[collection].some((r: { success: boolean }) => !r.success)) {
    throw new Error(`batch write answered ${res.status}: ${res.text.slice(0, 300)}`);
  }
}

/** The ns left after removing those `gone` holds, sorted. */
export const remaining = (all: number[], gone: (n: number) => boolean): number[] =>
  all.filter((n) => !gone(n)).sort((a, b) => a - b);

export const sortedKeys = (ids: Map<number, string>): number[] => [...ids.keys()].sort((a, b) => a - b);

/**
 * keen-analysis: deletes by filter, by keen.id and by a relative timeframe,
 * each checked against the ids of what was sent (ids read before any delete,
 * so a wrong event removed in place of the right one is seen).
 */
export async function nodeSdkDeletes(target: SdkTarget, collection: string, events: SentEvent[]): Promise<void> {
  const before = await waitForStored(target, collection, events.length);
  expect(sortedKeys(before)).toEqual(events.map((e) => e.n));
  const { analysis, restore } = keenAnalysisFor(target);
  try {
    const del = (params: Record<string, unknown>) =>
      analysis.del({ url: analysis.url('events', collection), api_key: analysis.config.masterKey, ...params });
    let left = events.map((e) => e.n);

    // By filter (camelCase keys, as the SDK's docs write them: it snake_cases them).
    expect(await del({ filters: [{ propertyName: 'kind', operator: 'eq', propertyValue: 'a' }] })).toEqual({});
    left = remaining(left, (n) => events[n].kind === 'a');
    let now = await storedIds(target, collection);
    expect(sortedKeys(now)).toEqual(left);
    for (const n of left) expect(now.get(n)).toBe(before.get(n));

    // By keen.id: exactly that event.
    const victim = left[1];
    expect(await del({ filters: [{ property_name: 'keen.id', operator: 'eq', property_value: before.get(victim) }] })).toEqual({});
    left = remaining(left, (n) => n === victim);
    now = await storedIds(target, collection);
    expect(sortedKeys(now)).toEqual(left);

    // By a relative timeframe with a named timezone: the SDK sends both as
    // JSON text of a string (timeframe="this_2_hours").
    expect(await del({ timeframe: 'this_2_hours', timezone: 'UTC' })).toEqual({});
    left = remaining(left, (n) => n >= 8);
    now = await storedIds(target, collection);
    expect(sortedKeys(now)).toEqual(left);
    for (const n of left) expect(now.get(n)).toBe(before.get(n));
  } finally {
    restore();
  }
}

/** The Python client: the same three deletes, the timeframe one by an absolute window. */
export async function pythonSdkDeletes(target: SdkTarget, collection: string, events: SentEvent[]): Promise<void> {
  expect(pythonKeen(target, collection, 'write', { TALLY_EVENTS: JSON.stringify(events) })).toEqual({
    [collection]: events.map(() => ({ success: true })),
  });
  const before = await waitForStored(target, collection, events.length);
  expect(sortedKeys(before)).toEqual(events.map((e) => e.n));
  const del = (params: Record<string, unknown>) =>
    pythonKeen(target, collection, 'delete', { TALLY_DELETE: JSON.stringify(params) });
  let left = events.map((e) => e.n);

  expect(del({ filters: [{ property_name: 'kind', operator: 'eq', property_value: 'b' }] })).toBe(true);
  left = remaining(left, (n) => events[n].kind === 'b');
  let now = await storedIds(target, collection);
  expect(sortedKeys(now)).toEqual(left);

  const victim = left[0];
  expect(del({ filters: [{ property_name: 'keen.id', operator: 'in', property_value: [before.get(victim)] }] })).toBe(true);
  left = remaining(left, (n) => n === victim);
  now = await storedIds(target, collection);
  expect(sortedKeys(now)).toEqual(left);

  // An absolute window ({start, end}: the client sends it as JSON) with a timezone offset in seconds.
  expect(del({ timeframe: OLD_WINDOW, timezone: -18000 })).toBe(true);
  const [start, end] = [Date.parse(OLD_WINDOW.start), Date.parse(OLD_WINDOW.end)];
  left = remaining(left, (n) => {
    const t = Date.parse(events[n].keen.timestamp);
    return t >= start && t < end;
  });
  now = await storedIds(target, collection);
  expect(sortedKeys(now)).toEqual(left);
  for (const n of left) expect(now.get(n)).toBe(before.get(n));
}

/** The raw delete itself: Content-Type application/json and no body, as both SDKs send it. */
export async function emptyJsonDelete(target: SdkTarget, collection: string): Promise<number> {
  const res = await fetch(collectionUrl(target, collection), {
    method: 'DELETE',
    headers: { authorization: target.keys.master_key, 'content-type': 'application/json' },
  });
  await res.arrayBuffer();
  return res.status;
}
