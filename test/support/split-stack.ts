/**
 * A private split deployment for e2e fault tests and the split bench: its own
 * state dir and free loopback ports (never the developer stack on 8080), the
 * real nginx, ingest, query, worker, Redis shards and Mongo-wire server, driven
 * through scripts/stack. Plus what the tests need around it: a project made by
 * the CLI, stored events and schema counters read straight from MongoDB, and a
 * client that streams marked events and records which requests were acknowledged.
 *
 * No jest imports: the split bench compiles and uses this file too.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import {
  restartService,
  signalService,
  stackDown,
  stackStatus,
  stackUp,
  startService,
  stopService,
} from '../../scripts/stack';
import type { ServiceStatus, StackPorts } from '../../scripts/stack';

const ROOT = ((dir: string): string => {
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})(__dirname);
const CLI_MAIN = path.join(ROOT, 'dist/apps/cli/src/main.js');
const run = promisify(execFile);

export interface ProjectKeys {
  id: string;
  write_key: string;
  read_key: string;
  master_key: string;
}

/** The stored layout of one event (libs/storage/src/mongo/mongo-event.store.ts). */
export interface StoredDoc {
  _id: string;
  p: string;
  c: string;
  t: Date;
  e: Record<string, any>;
  m?: string;
}

/** A schema counter document (libs/storage/src/mongo/schema-counter.keys.ts). */
export interface CounterDoc {
  _id: string;
  p: string;
  c: string;
  counts?: Record<string, Record<string, number>>;
  pending?: { a: string; at: Date }[];
}

function portOnce(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await portOnce());
  return [...ports];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a truthy value or the timeout passes (then the last value). */
export async function waitFor<T>(check: () => Promise<T>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() > until) return value;
    await sleep(intervalMs);
  }
}

export interface SplitStackOptions {
  /** Extra app environment (e.g. ENQUEUE_DEADLINE_MS). */
  env?: Record<string, string>;
  mongoBackend?: 'h2' | 'memory';
  logLevel?: string;
}

export class SplitStack {
  private mongo: MongoClient | null = null;

  private constructor(
    readonly stateDir: string,
    readonly ports: Omit<StackPorts, 'cassandra' | 'cassandraStorage'>,
    readonly env: Record<string, string>,
  ) {}

  /** Starts a whole private stack (apps built beforehand with `npm run build`). */
  static async start(options: SplitStackOptions = {}): Promise<SplitStack> {
    for (const app of ['ingest', 'query', 'worker', 'cli']) {
      const main = path.join(ROOT, `dist/apps/${app}/src/main.js`);
      if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build --silent`);
    }
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-split-'));
    const [nginx, i1, i2, q1, q2, w1, r1, r2, mongo] = await freePorts(9);
    const ports = { nginx, ingest: [i1, i2], query: [q1, q2], worker: [w1], redis: [r1, r2], mongo };
    const stack = new SplitStack(stateDir, ports, {});
    try {
      const result = await stackUp({
        stateDir,
        ports,
        env: options.env,
        mongoBackend: options.mongoBackend ?? 'h2',
        logLevel: options.logLevel ?? 'warn',
      });
      if (result.missingApps.length) throw new Error(`apps not started: ${result.missingApps.join(', ')}`);
      Object.assign(stack.env, result.env);
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.ports.nginx}`;
  }

  get stackFile(): string {
    return path.join(this.stateDir, 'stack.json');
  }

  url(projectId: string, rest: string): string {
    return `${this.baseUrl}/3.0/projects/${projectId}${rest}`;
  }

  /** Creates a project with the CLI against this stack, then waits until its write key is accepted. */
  async createProject(name: string): Promise<ProjectKeys> {
    const { stdout } = await run(process.execPath, [CLI_MAIN, 'projects', 'create', name, '--json'], {
      cwd: ROOT,
      env: { ...process.env, TALLY_STACK_FILE: this.stackFile, LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    const keys = JSON.parse(stdout.slice(stdout.indexOf('{'))) as ProjectKeys;
    // Each ingest process serves keys from its own cache, refreshed in the
    // background: wait until a run of writes (spread over both processes by
    // nginx's round robin) is accepted, not just the first one.
    let streak = 0;
    const accepted = await waitFor(
      async () => {
        const res = await fetch(this.url(keys.id, '/events/warmup'), {
          method: 'POST',
          headers: { authorization: keys.write_key, 'content-type': 'application/json' },
          body: JSON.stringify({ warmup: true }),
        }).catch(() => null);
        await res?.arrayBuffer();
        streak = res?.status === 201 ? streak + 1 : 0;
        return streak >= 8;
      },
      30_000,
      100,
    );
    if (!accepted) throw new Error(`write key of ${keys.id} not accepted within 30 s`);
    return keys;
  }

  async db() {
    if (!this.mongo) {
      this.mongo = new MongoClient(`mongodb://127.0.0.1:${this.ports.mongo}`, {
        directConnection: true,
        serverSelectionTimeoutMS: 5_000,
        socketTimeoutMS: 60_000,
      });
      await this.mongo.connect();
    }
    return this.mongo.db(this.env.MONGO_DATABASE || 'tally');
  }

  /** Stored events of a project (optionally one collection), straight from MongoDB. */
  async storedEvents(projectId: string, collection?: string): Promise<StoredDoc[]> {
    const filter: Record<string, string> = { p: projectId };
    if (collection) filter.c = collection;
    return (await this.db()).collection<StoredDoc>('events').find(filter).toArray();
  }

  async storedCount(projectId: string, collection?: string): Promise<number> {
    const filter: Record<string, string> = { p: projectId };
    if (collection) filter.c = collection;
    return (await this.db()).collection<StoredDoc>('events').countDocuments(filter);
  }

  async counterDoc(projectId: string, collection: string): Promise<CounterDoc | null> {
    return (await this.db())
      .collection<CounterDoc>('schema_counters')
      .findOne({ _id: JSON.stringify([projectId, collection]) });
  }

  /**
   * Waits until every acknowledged marker is stored (a queue drains into the
   * store asynchronously) and no event of the collection still carries a write
   * marker `m` (its delivery's counters applied); returns the stored events.
   */
  async waitForMarkers(
    projectId: string,
    collection: string,
    markers: Iterable<string>,
    timeoutMs = 60_000,
    settled = true,
  ): Promise<StoredDoc[]> {
    const wanted = new Set(markers);
    let docs: StoredDoc[] = [];
    await waitFor(
      async () => {
        docs = await this.storedEvents(projectId, collection).catch(() => docs);
        const seen = new Set(docs.map((d) => d.e.marker as string));
        for (const m of wanted) if (!seen.has(m)) return false;
        return !settled || docs.every((d) => d.m === undefined);
      },
      timeoutMs,
      500,
    );
    return docs;
  }

  /** Runs redis-cli against one shard (index 0 or 1). */
  async redis(shard: number, ...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.ports.redis[shard]), ...args], {
      timeout: 5_000,
    });
    return stdout.trim();
  }

  /** Ingest jobs a shard has seen and still keeps (waiting + active + completed + failed). */
  async shardJobs(shard: number, queue = 'tally-ingest', prefix = 'bull'): Promise<number> {
    const k = (s: string) => `${prefix}:${queue}:${s}`;
    const [wait, active, completed, failed, prioritized, delayed] = await Promise.all([
      this.redis(shard, 'LLEN', k('wait')),
      this.redis(shard, 'LLEN', k('active')),
      this.redis(shard, 'ZCARD', k('completed')),
      this.redis(shard, 'ZCARD', k('failed')),
      this.redis(shard, 'ZCARD', k('prioritized')),
      this.redis(shard, 'ZCARD', k('delayed')),
    ]);
    return [wait, active, completed, failed, prioritized, delayed].reduce((n, v) => n + (Number(v) || 0), 0);
  }

  signal(name: string, signal: NodeJS.Signals): number {
    return signalService(name, signal, { stateDir: this.stateDir });
  }

  startService(name: string) {
    return startService(name, { stateDir: this.stateDir });
  }

  stopService(name: string): Promise<boolean> {
    return stopService(name, { stateDir: this.stateDir });
  }

  restartService(name: string) {
    return restartService(name, { stateDir: this.stateDir });
  }

  status(): Promise<ServiceStatus[]> {
    return stackStatus({ stateDir: this.stateDir });
  }

  log(name: string): string {
    const file = path.join(this.stateDir, 'logs', `${name}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  /** Stops everything this stack started and removes its state (kept when KEEP_SPLIT_STACK is set). */
  async stop(): Promise<void> {
    await this.mongo?.close(true).catch(() => undefined);
    this.mongo = null;
    await stackDown({ stateDir: this.stateDir });
    if (!process.env.KEEP_SPLIT_STACK) fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** One request of a stream, as the client saw it. */
export interface SentRequest {
  seq: number;
  markers: string[];
  /** Markers the server acknowledged (201, or success:true in a 200 batch answer). */
  acked: string[];
  status: number; // 0: no HTTP answer (connection error, client timeout)
  error?: string;
  retryAfter?: string | null;
  pool?: string | null;
  startedAt: number;
  ms: number;
}

export interface StreamOptions {
  baseUrl: string;
  projectId: string;
  writeKey: string;
  collection: string;
  /** Unique prefix of this stream's markers. */
  runId: string;
  /** Parallel request loops (default 4). */
  concurrency?: number;
  /** 1: single-event POSTs to /events/:c; more: batch POSTs to /events (default 1). */
  batchSize?: number;
  /** Pause of each loop between requests (default 5 ms). */
  pauseMs?: number;
  /** Client-side abort of one request (default 15 s). */
  timeoutMs?: number;
}

/**
 * Every event carries a unique `marker` (and a mix of property types, so the
 * schema counters have something to count). Loops send until stop().
 */
export function markedEvent(marker: string, n: number): Record<string, unknown> {
  return {
    marker,
    n,
    price: n * 1.5,
    ok: n % 2 === 0,
    user: { id: `u${n % 7}`, tier: n % 3 === 0 ? null : 'gold' },
    tags: ['a', String(n % 5)],
    at: new Date(Date.UTC(2024, 0, 1, 0, 0, n % 60)).toISOString(),
  };
}

export class EventStream {
  readonly requests: SentRequest[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private eventNo = 0;

  constructor(private readonly options: StreamOptions) {}

  start(): this {
    this.running = true;
    const n = this.options.concurrency ?? 4;
    for (let i = 0; i < n; i++) this.loops.push(this.loop());
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Sends exactly one request now (outside the loops). */
  async sendOne(): Promise<SentRequest> {
    return this.send();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      await this.send();
      await sleep(this.options.pauseMs ?? 5);
    }
  }

  private async send(): Promise<SentRequest> {
    const o = this.options;
    const size = o.batchSize ?? 1;
    const seq = this.seq++;
    const markers: string[] = [];
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < size; i++) {
      const n = this.eventNo++;
      const marker = `${o.runId}-${n}`;
      markers.push(marker);
      events.push(markedEvent(marker, n));
    }
    const single = size === 1;
    const url = `${o.baseUrl}/3.0/projects/${o.projectId}/events${single ? `/${o.collection}` : ''}`;
    const body = JSON.stringify(single ? events[0] : { [o.collection]: events });
    const req: SentRequest = { seq, markers, acked: [], status: 0, startedAt: Date.now(), ms: 0 };
    const t0 = performance.now();
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: o.writeKey, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
      });
      const text = await res.text();
      req.status = res.status;
      req.pool = res.headers.get('x-tally-pool');
      req.retryAfter = res.headers.get('retry-after');
      if (single && res.status === 201) req.acked = markers;
      else if (!single && res.status === 200) {
        const results = (JSON.parse(text)[o.collection] ?? []) as Array<{ success: boolean }>;
        req.acked = markers.filter((_, i) => results[i]?.success === true);
      } else if (res.status >= 500 || res.status < 200) {
        req.error = text.slice(0, 200);
      }
    } catch (error) {
      req.error = String((error as Error)?.message ?? error);
    }
    req.ms = performance.now() - t0;
    this.requests.push(req);
    return req;
  }

  acknowledged(): string[] {
    return this.requests.flatMap((r) => r.acked);
  }

  sent(): string[] {
    return this.requests.flatMap((r) => r.markers);
  }

  maxMs(): number {
    return this.requests.reduce((m, r) => Math.max(m, r.ms), 0);
  }

  /** Requests with no 2xx answer, as `status: error` counts (for failure messages). */
  failures(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) {
      if (r.status >= 200 && r.status < 300) continue;
      const key = `${r.status}${r.error ? ': ' + r.error.slice(0, 80) : ''}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  summary(): string {
    const acked = this.acknowledged().length;
    return `requests=${this.requests.length} events=${this.sent().length} acknowledged=${acked} maxMs=${Math.round(this.maxMs())} failures=${JSON.stringify(this.failures())}`;
  }
}

/**
 * Each marker stored exactly once, every acknowledged marker present, and
 * nothing stored that was never sent. Returns what differs (empty when right).
 */
export function compareStored(
  docs: StoredDoc[],
  acknowledged: Iterable<string>,
  sent: Iterable<string>,
): { missing: string[]; duplicated: string[]; unknown: string[] } {
  const counts = new Map<string, number>();
  for (const d of docs) {
    const m = d.e.marker as string | undefined;
    if (m) counts.set(m, (counts.get(m) ?? 0) + 1);
  }
  const sentSet = new Set(sent);
  return {
    missing: [...acknowledged].filter((m) => !counts.has(m)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([m]) => m),
    unknown: [...counts.keys()].filter((m) => !sentSet.has(m)),
  };
}
