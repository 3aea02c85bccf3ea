/**
 * Cached dataset results against the live query for the same answer, on a
 * standalone server (DATASETS_EVENTS generated events, default 1,000,000)
 * and on the split stack through nginx (DATASETS_SPLIT_EVENTS, default
 * 100,000; 0 skips it). The events are the engine bench's collection, moved
 * so its 30 days end today (datasets keep a window relative to now).
 *
 * Two datasets: a count indexed by user.country (12 values) and a
 * count_unique of user.id indexed by type (6 values), daily over this_31_days
 * in UTC. Each is built by the server itself (PUT, then its status polled to
 * OK); then, alternating, DATASETS_READS result reads over the whole window
 * for random index values, and DATASETS_LIVE live queries (the same query
 * filtered to the index value, through POST /queries). Every dataset answer
 * is checked equal to the live one, or the bench exits non-zero.
 *
 * Standalone: the events are written with the store's own persister into the
 * data dir (the server stopped), then the server starts over it and its
 * columnar copy catches up before anything is timed (the live query then
 * takes the compiled path, as it would in production).
 * Prints p50/p99 per side and the ratio. Figures: docs/benchmarks.md.
 * Run: `npm run bench -- datasets`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '@app/config';
import { persisterFor } from '@app/core';
import { CollectionEvent, EventBatch } from '@app/events';
import { openStores, Stores } from '@app/storage';
import { SplitStack } from '@test/support/split-stack';
import { BAKEOFF_END, bakeoffEvent } from './support/bakeoff-events';
import { percentile } from './support/load';
import { ROOT, Running, startNode, tempDir } from './support/processes';
import { fmt, rate, timed } from './support/timing';

const EVENTS = Number(process.env.DATASETS_EVENTS ?? 1_000_000);
const SPLIT_EVENTS = Number(process.env.DATASETS_SPLIT_EVENTS ?? 100_000);
const READS = Number(process.env.DATASETS_READS ?? 300);
const LIVE = Number(process.env.DATASETS_LIVE ?? 12);
const SEED = 20240225;
const DAY = 86_400_000;
/** Moves the collection's last day to end at today's UTC midnight + 1 day. */
const SHIFT = (Math.floor(Date.now() / DAY) + 1) * DAY - Math.ceil(BAKEOFF_END / DAY) * DAY;
const COLLECTION = 'c';
const COUNTRIES = ['US', 'FR', 'DE', 'JP', 'BR', 'GB', 'IN', 'CA', 'ES', 'IT', 'MX', 'NL'];
const TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'signup', 'search'];

interface Target {
  name: string;
  base: string;
  readKey: string;
  masterKey: string;
}

const WINDOW = { timeframe: 'this_31_days', interval: 'daily', timezone: 'UTC' };
const DATASETS = [
  {
    name: 'count-by-country',
    index: 'user.country',
    values: COUNTRIES,
    query: { analysis_type: 'count', event_collection: COLLECTION, ...WINDOW },
  },
  {
    name: 'users-by-type',
    index: 'type',
    values: TYPES,
    query: {
      analysis_type: 'count_unique',
      target_property: 'user.id',
      event_collection: COLLECTION,
      ...WINDOW,
    },
  },
];

function events(from: number, to: number, total: number): CollectionEvent[] {
  const out: CollectionEvent[] = [];
  for (let i = from; i < to; i++) {
    const e = bakeoffEvent(SEED, i, total);
    const timestamp = e.ts + SHIFT;
    const iso = new Date(timestamp).toISOString();
    const body = { ...e.body, keen: { id: e.id, timestamp: iso, created_at: iso } };
    out.push({ collection: COLLECTION, id: e.id, timestamp, event: body });
  }
  return out;
}

async function load(stores: Stores, projectId: string, total: number): Promise<void> {
  const persister = persisterFor(stores);
  const ms = await timed(async () => {
    for (let i = 0; i < total; i += 5_000) {
      const batch: EventBatch = {
        batchId: `b${i}`,
        projectId,
        events: events(i, Math.min(total, i + 5_000), total),
      };
      await persister.persistAll([batch]);
      if ((i / 5_000) % 20 === 0) process.stdout.write(`  loaded ${fmt(i)}\r`);
    }
  });
  process.stdout.write(
    `  loaded ${fmt(total)} events in ${(ms / 1000).toFixed(1)} s (${fmt(rate(total, ms))}/s)\n`,
  );
}

async function call(method: string, url: string, key: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { authorization: key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300)
    throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return { json: JSON.parse(text), path: res.headers.get('x-tally-query-path') };
}

/** Builds both datasets and waits until the server says they are OK. */
async function build(t: Target): Promise<number> {
  return timed(async () => {
    for (const d of DATASETS) {
      await call('PUT', `${t.base}/datasets/${d.name}`, t.masterKey, {
        query: d.query,
        index_by: d.index,
        display_name: d.name,
      });
    }
    for (;;) {
      const states = await Promise.all(
        DATASETS.map((d) => call('GET', `${t.base}/datasets/${d.name}`, t.readKey)),
      );
      if (states.every((s) => s.json.status === 'OK')) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  });
}

async function measure(t: Target): Promise<void> {
  process.stdout.write(`\n${t.name}\n`);
  process.stdout.write(
    `  datasets built by the server in ${((await build(t)) / 1000).toFixed(1)} s\n`,
  );
  for (const d of DATASETS) {
    const reads: number[] = [];
    const lives: number[] = [];
    const paths = new Set<string>();
    for (let i = 0; i < READS; i++) {
      const value = d.values[i % d.values.length];
      const started = performance.now();
      const got = await call(
        'GET',
        `${t.base}/datasets/${d.name}/results?index_by=${encodeURIComponent(value)}&timeframe=this_31_days`,
        t.readKey,
      );
      reads.push(performance.now() - started);
      if (i % Math.max(1, Math.floor(READS / LIVE)) !== 0) continue;
      const { analysis_type, ...rest } = d.query;
      const liveStarted = performance.now();
      const live = await call('POST', `${t.base}/queries/${analysis_type}`, t.readKey, {
        ...rest,
        filters: [{ property_name: d.index, operator: 'eq', property_value: value }],
      });
      lives.push(performance.now() - liveStarted);
      paths.add(live.path ?? 'unknown');
      if (JSON.stringify(got.json.result) !== JSON.stringify(live.json.result)) {
        throw new Error(
          `${d.name} ${value}: the dataset answered ${JSON.stringify(got.json.result).slice(0, 200)}, the live query ${JSON.stringify(live.json.result).slice(0, 200)}`,
        );
      }
    }
    reads.sort((a, b) => a - b);
    lives.sort((a, b) => a - b);
    const p = (xs: number[], q: number) => percentile(xs, q).toFixed(1);
    process.stdout.write(
      `  ${d.name}: dataset results p50 ${p(reads, 50)} ms, p99 ${p(reads, 99)} ms (${reads.length} reads); ` +
        `live query p50 ${p(lives, 50)} ms, p99 ${p(lives, 99)} ms (${lives.length}, path ${[...paths].join('/')}); ` +
        `live/dataset at p50 ${(percentile(lives, 50) / percentile(reads, 50)).toFixed(0)}x; every answer equal\n`,
    );
  }
}

async function standalone(): Promise<void> {
  const dataDir = tempDir('tally-datasets-bench-');
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATASET_REFRESH_MS: '200' };
  let server: Running | undefined;
  try {
    server = await startNode(
      path.join(ROOT, 'dist/apps/standalone/src/main.js'),
      env,
      'listening on',
    );
    const keys = JSON.parse(
      /Created project "default"[^\n]*\n(\{[\s\S]*?\n\})/.exec(server.output)![1],
    );
    await server.stop();
    process.stdout.write(`standalone: ${fmt(EVENTS)} events\n`);
    const stores = await openStores(loadConfig('cli', { STORE: 'sqlite', DATA_DIR: dataDir }));
    await load(stores, 'default', EVENTS);
    await stores.close();
    server = await startNode(
      path.join(ROOT, 'dist/apps/standalone/src/main.js'),
      env,
      'listening on',
    );
    const t: Target = {
      name: `standalone, ${fmt(EVENTS)} events`,
      base: `http://127.0.0.1:${server.port}/3.0/projects/default`,
      readKey: keys.read_key,
      masterKey: keys.master_key,
    };
    // A one-hour count answers fast on either path; its header says which.
    const hour = {
      start: new Date(Date.now() - 30 * 3_600_000).toISOString(),
      end: new Date(Date.now() - 29 * 3_600_000).toISOString(),
    };
    const caughtUp = await timed(async () => {
      for (;;) {
        const probe = await call('POST', `${t.base}/queries/count`, t.readKey, {
          event_collection: COLLECTION,
          timeframe: hour,
        });
        if (probe.path === 'compiled') return;
        await new Promise((r) => setTimeout(r, 5_000));
      }
    });
    process.stdout.write(
      `  columnar copy caught up ${(caughtUp / 1000).toFixed(0)} s after the start\n`,
    );
    await measure(t);
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function split(): Promise<void> {
  const stack = await SplitStack.start({ logLevel: 'warn', env: { DATASET_REFRESH_MS: '200' } });
  try {
    const keys = await stack.createProject('datasets-bench');
    process.stdout.write(`\nsplit stack (MongoDB-wire test server): ${fmt(SPLIT_EVENTS)} events\n`);
    const stores = await openStores(loadConfig('cli', { ...stack.env, LOG_LEVEL: 'warn' }));
    await load(stores, keys.id, SPLIT_EVENTS);
    await stores.close();
    await measure({
      name: `split stack through nginx, ${fmt(SPLIT_EVENTS)} events`,
      base: stack.url(keys.id, ''),
      readKey: keys.read_key,
      masterKey: keys.master_key,
    });
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  if (EVENTS > 0) await standalone();
  if (SPLIT_EVENTS > 0) await split();
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
