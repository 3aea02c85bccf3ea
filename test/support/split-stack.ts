/**
 * A private split deployment for e2e fault tests and the split benches: its own
 * state dir and free loopback ports (never the developer stack on 8080), the
 * real nginx, ingest, query, worker, Redis shards, Mongo-wire server and, with
 * STORE=cassandra, Cassandra, driven through tools/stack. Plus what the tests
 * need around it: a project made by the CLI, stored events read through the
 * EventStore port (the same code on both stores), schema counters read straight
 * from MongoDB (they live there on both), and a client that streams marked
 * events and records which requests were acknowledged.
 *
 * No jest imports: the split bench compiles and uses this file too.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { loadConfig } from '@app/config';
import type { StoredEvent } from '@app/events';
import { openStores } from '@app/storage';
import type { Stores } from '@app/storage';
import { CassandraEventStore } from '@app/storage/cassandra';
import { MongoEventStore } from '@app/storage/mongo';
import { nginxService, restartService, signalService, stackDown, stackStatus, stackUp, startService, stopService } from '@tools/stack';
import type { ServiceStatus, StackPorts } from '@tools/stack';
import { splitStore, SplitStore } from './split-store';
import { assertNoKeysLogged } from './standalone-server';

export { splitStore } from './split-store';
export type { SplitStore } from './split-store';

const ROOT = ((dir: string): string => {
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})(__dirname);
const CLI_MAIN = path.join(ROOT, 'dist/apps/cli/src/main.js');
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ProjectKeys {
  id: string;
  write_key: string;
  read_key: string;
  master_key: string;
}

/**
 * One stored event as a scan of the EventStore port returns it, in the field
 * names of MongoEventStore's layout (which the specs were written against):
 * `_id` keen.id, `p` project, `c` collection, `t` timestamp, `e` the event.
 */
export interface StoredDoc {
  _id: string;
  p: string;
  c: string;
  t: Date;
  e: Record<string, any>;
  /**
   * The delivery marker of a write whose schema counters are not applied yet:
   * on MongoDB the event's own `m`; on Cassandra its by-id claim token while
   * that token is still pending on the collection's counter document.
   */
  m?: string;
}

/**
 * What differs between a store's two ways to reach an event (empty lists and
 * a zero when they agree): the collection scan and the by-id lookup (MongoDB:
 * `_id`; Cassandra: the `events_by_id` table, then the row in `events`), and
 * the store's own count of the collection.
 */
export interface StoreAgreement {
  /** keen.ids the scan returned more than once. */
  duplicateIds: string[];
  /** Scanned ids a by-id lookup does not find. */
  missingById: string[];
  /** Ids whose by-id read differs from the scanned event (timestamp or body). */
  differentById: string[];
  /** countCollection() minus the number of distinct scanned ids. */
  countDelta: number;
}

/** storeAgreement() of a store whose access paths agree. */
export const STORE_AGREES: StoreAgreement = {
  duplicateIds: [],
  missingById: [],
  differentById: [],
  countDelta: 0,
};

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
export async function waitFor<T>(
  check: () => Promise<T>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() > until) return value;
    await sleep(intervalMs);
  }
}

/**
 * How long a spec's beforeAll may take to start a stack: Cassandra alone needs
 * 15-60 s on a busy 2-core machine (installs happen before, in the global setup).
 */
export const STACK_START_TIMEOUT_MS = 300_000;

export interface SplitStackOptions {
  /** Event store; default $STORE, else mongo (see split-store.ts). */
  store?: SplitStore;
  /** Extra app environment (e.g. ENQUEUE_DEADLINE_MS). */
  env?: Record<string, string>;
  mongoBackend?: 'h2' | 'memory';
  cassandraHeap?: string;
  logLevel?: string;
}

export type SplitStackPorts = Omit<StackPorts, 'cassandra' | 'cassandraStorage'> &
  Partial<Pick<StackPorts, 'cassandra' | 'cassandraStorage'>>;

/** BullMQ job states that still need the worker. */
export const STILL_TO_PROCESS = ['wait', 'active', 'prioritized', 'delayed'] as const;

/**
 * Sends `request` every 100 ms until 8 answers in a row have `status` (so
 * nginx's round robin reached every process of the pool); throws after 30 s.
 */
async function untilAcceptedInARow(
  what: string,
  status: number,
  request: () => Promise<Response>,
): Promise<void> {
  let streak = 0;
  const accepted = await waitFor(
    async () => {
      const res = await request().catch(() => null);
      await res?.arrayBuffer();
      streak = res?.status === status ? streak + 1 : 0;
      return streak >= 8;
    },
    30_000,
    100,
  );
  if (!accepted) throw new Error(`${what} not accepted within 30 s`);
}

export class SplitStack {
  private mongo: MongoClient | null = null;
  private stores: Promise<Stores> | null = null;

  private constructor(
    readonly stateDir: string,
    readonly ports: SplitStackPorts,
    readonly env: Record<string, string>,
    readonly store: SplitStore = 'mongo',
  ) {}

  /** Starts a whole private stack (apps built beforehand with `npm run build`). */
  static async start(options: SplitStackOptions = {}): Promise<SplitStack> {
    for (const app of ['ingest', 'query', 'worker', 'cli']) {
      const main = path.join(ROOT, `dist/apps/${app}/src/main.js`);
      if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build --silent`);
    }
    const store = options.store ?? splitStore();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-split-'));
    // nginx's workers (nobody, when run as root) open the journal's day files
    // themselves: they must be able to pass through this directory (not list it).
    fs.chmodSync(stateDir, 0o711);
    const [nginx, i1, i2, q1, q2, w1, r1, r2, mongo, cassandra, cassandraStorage] =
      await freePorts(11);
    const ports: SplitStackPorts = {
      nginx,
      ingest: [i1, i2],
      query: [q1, q2],
      worker: [w1],
      redis: [r1, r2],
      mongo,
    };
    // Both Cassandra ports are private too: a developer node may hold 9042 and 7000.
    if (store === 'cassandra') Object.assign(ports, { cassandra, cassandraStorage });
    const stack = new SplitStack(stateDir, ports, {}, store);
    try {
      const result = await stackUp({
        stateDir,
        store,
        ports,
        env: options.env,
        mongoBackend: options.mongoBackend ?? 'h2',
        cassandraHeap: options.cassandraHeap,
        logLevel: options.logLevel ?? 'warn',
      });
      if (result.missingApps.length)
        throw new Error(`apps not started: ${result.missingApps.join(', ')}`);
      Object.assign(stack.env, result.env);
      await stack.awaitWorkers();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /**
   * The stack calls a worker started once its /healthz answers, but it opens
   * its stores (on Cassandra: also the schema migrations of a fresh keyspace)
   * after that: wait for its "consuming" line, or no event is ever stored. On
   * an overloaded machine a worker can exit at start-up on a store timeout,
   * and the local stack has no supervisor to restart it: it is started once
   * more (said on stderr), and the stack fails to start if that one dies too.
   */
  private async awaitWorkers(timeoutMs = 120_000): Promise<void> {
    const workers = this.ports.worker.map((_, i) => `worker-${i + 1}`);
    const lastRun = (name: string) => this.log(name).split('\n--- ').pop() ?? '';
    for (const name of workers) {
      for (let attempt = 1; ; attempt++) {
        const state = await waitFor(
          async () => {
            if (lastRun(name).includes('Tally worker consuming')) return 'consuming';
            const up = (await this.status()).find((s) => s.name === name)?.up;
            return up ? null : 'exited';
          },
          timeoutMs,
          250,
        );
        if (state === 'consuming') break;
        const tail = lastRun(name).split('\n').slice(-15).join('\n');
        if (state === null || attempt > 1)
          throw new Error(`${name} did not start consuming:\n${tail}`);
        process.stderr.write(`${name} exited during start-up, starting it again:\n${tail}\n`);
        await this.startService(name);
      }
    }
  }

  /** The stack service that holds the events: stopped by the store-down spec. */
  get eventStoreService(): string {
    return this.store === 'cassandra' ? 'cassandra' : 'mongo';
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

  /** Creates a project with the CLI against this stack, then waits until its write and read keys are accepted. */
  async createProject(name: string): Promise<ProjectKeys> {
    const { stdout } = await run(
      process.execPath,
      [CLI_MAIN, 'projects', 'create', name, '--json'],
      {
        cwd: ROOT,
        env: { ...process.env, TALLY_STACK_FILE: this.stackFile, LOG_LEVEL: 'warn' },
        timeout: 60_000,
      },
    );
    const keys = JSON.parse(stdout.slice(stdout.indexOf('{'))) as ProjectKeys;
    // Each ingest process serves keys from its own cache, refreshed in the
    // background: wait until a run of writes (spread over both processes by
    // nginx's round robin) is accepted, not just the first one.
    await untilAcceptedInARow(`write key of ${keys.id}`, 201, () =>
      fetch(this.url(keys.id, '/events/warmup'), {
        method: 'POST',
        headers: { authorization: keys.write_key, 'content-type': 'application/json' },
        body: JSON.stringify({ warmup: true }),
      }),
    );
    // The query processes keep their own caches, refreshed on their own clock:
    // the same for the read key, or a query right after this could meet a
    // process that does not know the project yet (404).
    await untilAcceptedInARow(`read key of ${keys.id}`, 200, () =>
      fetch(this.url(keys.id, '/queries/count?event_collection=warmup'), {
        headers: { authorization: keys.read_key },
      }),
    );
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

  /**
   * The stack's stores opened as the apps open them (openStores over the
   * stack's env), once: stored events are read through the EventStore port, so
   * every assertion holds the same way on MongoDB and on Cassandra.
   */
  private openStores(): Promise<Stores> {
    this.stores ??= openStores(loadConfig('cli', { ...this.env, LOG_LEVEL: 'warn' })).catch(
      (error) => {
        this.stores = null;
        throw error;
      },
    );
    return this.stores;
  }

  /** Collections of a project that have schema counters (every collection written to). */
  private async collections(projectId: string): Promise<string[]> {
    const counters = await (await this.openStores()).metadata.getSchema(projectId);
    return [...new Set(counters.map((c) => c.collection))];
  }

  private async scanAll(
    projectId: string,
    collection: string,
    ids?: string[],
  ): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for await (const page of (await this.openStores()).events.scan({ projectId, collection, ids }))
      out.push(...page);
    return out;
  }

  /**
   * Runs the CLI against this stack (it follows TALLY_STACK_FILE; DATA_DIR is
   * dropped so the stack is what it acts on). Never rejects on a non-zero exit:
   * the caller checks `code`.
   */
  /**
   * Settles every write marker still pending, however young (`tally markers
   * sweep --older-than 0`): after a crash spec has drained, what a killed
   * delivery left pending is settled exactly once, so the spec can require
   * that no marker is left and the counters still equal a recount.
   */
  async settleMarkers(): Promise<{ settled: number; dropped: number; examined: number }> {
    const result = await this.cli('markers', 'sweep', '--older-than', '0', '--json');
    if (result.code !== 0) throw new Error(`markers sweep failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as { settled: number; dropped: number; examined: number };
  }

  cli(...args: string[]): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, TALLY_STACK_FILE: this.stackFile, LOG_LEVEL: 'warn' };
      delete env.DATA_DIR;
      const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: ROOT, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  /**
   * `tally replay` of one project's journal window (edge times, epoch ms) with
   * --json: the outcome it printed. Fails unless it exits 0 with a quiet stderr.
   */
  async replay(
    projectId: string,
    from: number,
    to: number,
    ...extra: string[]
  ): Promise<Record<string, unknown>> {
    const result = await this.cli(
      'replay',
      '--from',
      new Date(from).toISOString(),
      '--to',
      new Date(to).toISOString(),
      '--project',
      projectId,
      ...extra,
      '--json',
    );
    if (result.code !== 0 || result.stderr !== '')
      throw new Error(`tally replay exited ${result.code}: ${result.stderr.slice(0, 500)}`);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  /**
   * Removes events straight from the event store, behind Tally's back (no
   * counter update, no delete job): what a storage fault that loses data does.
   */
  async loseEvents(projectId: string, collection: string, ids: string[]): Promise<number> {
    return (await (await this.openStores()).events.deleteByIds(projectId, collection, ids)).length;
  }

  /** Stored events of a project (optionally one collection), read through the EventStore port. */
  async storedEvents(projectId: string, collection?: string): Promise<StoredDoc[]> {
    const docs: StoredDoc[] = [];
    for (const c of collection ? [collection] : await this.collections(projectId)) {
      docs.push(...(await this.withMarkers(projectId, await this.scanDocs(projectId, c))));
    }
    return docs;
  }

  private async scanDocs(projectId: string, collection: string): Promise<StoredDoc[]> {
    return (await this.scanAll(projectId, collection)).map((e) => ({
      _id: e.id,
      p: projectId,
      c: collection,
      t: new Date(e.timestamp),
      e: e.event,
    }));
  }

  /** The docs (of one collection) with `m` set on those whose delivery is not settled. */
  private async withMarkers(projectId: string, docs: StoredDoc[]): Promise<StoredDoc[]> {
    if (docs.length === 0) return docs;
    const ids = docs.map((d) => d._id);
    const pending = await this.unsettled(projectId, docs[0].c, ids);
    return docs.map((d) => (pending.has(d._id) ? { ...d, m: pending.get(d._id) } : d));
  }

  async storedCount(projectId: string, collection?: string): Promise<number> {
    const { events } = await this.openStores();
    let n = 0;
    for (const c of collection ? [collection] : await this.collections(projectId)) {
      n += await events.countCollection(projectId, c);
    }
    return n;
  }

  /**
   * id -> delivery marker, for stored events whose delivery has not applied its
   * counter deltas yet: the marker each event carries (MongoEventStore: `m` on
   * the event; CassandraEventStore: the claim token on the by-id row), kept
   * where it is pending on the counter document.
   */
  private async unsettled(
    projectId: string,
    collection: string,
    ids: string[],
  ): Promise<Map<string, string>> {
    const { events } = await this.openStores();
    const out = new Map<string, string>();
    if (events instanceof MongoEventStore) {
      // Events keep their marker; the counter document says which are pending.
      const pending = new Set(
        (await this.counterDoc(projectId, collection))?.pending?.map((p) => p.a),
      );
      if (pending.size === 0) return out;
      // In chunks: a $in of tens of thousands of ids is slow on the Mongo-wire server.
      for (let i = 0; i < ids.length; i += 1000) {
        for (const [marker, marked] of await events.markersOf(projectId, ids.slice(i, i + 1000)))
          if (pending.has(marker)) for (const id of marked) out.set(id, marker);
      }
    } else if (events instanceof CassandraEventStore) {
      const pending = new Set(
        (await this.counterDoc(projectId, collection))?.pending?.map((p) => p.a),
      );
      if (pending.size === 0) return out;
      for (const [token, claimed] of await events.claimTokens(projectId, ids)) {
        if (pending.has(token)) for (const id of claimed) out.set(id, token);
      }
    }
    return out;
  }

  /**
   * Exactly once, checked across the store's access paths: each scanned
   * keen.id once, each found by a by-id lookup with the same timestamp and
   * body, and the store's count equal to the distinct ids. On Cassandra a
   * duplicate cannot exist within a partition by primary key, so this is what
   * shows a double write (two rows for one id) or a row its by-id table lost.
   */
  async storeAgreement(
    projectId: string,
    collection: string,
    docs: StoredDoc[],
  ): Promise<StoreAgreement> {
    const seen = new Map<string, StoredDoc>();
    const duplicateIds = new Set<string>();
    for (const d of docs) {
      if (seen.has(d._id)) duplicateIds.add(d._id);
      seen.set(d._id, d);
    }
    const ids = [...seen.keys()];
    const byId = new Map<string, StoredEvent>();
    for (let i = 0; i < ids.length; i += 500) {
      for (const e of await this.scanAll(projectId, collection, ids.slice(i, i + 500)))
        byId.set(e.id, e);
    }
    const missingById = ids.filter((id) => !byId.has(id));
    const differentById = ids.filter((id) => {
      const found = byId.get(id);
      const doc = seen.get(id)!;
      return (
        found &&
        (found.timestamp !== doc.t.getTime() ||
          JSON.stringify(found.event) !== JSON.stringify(doc.e))
      );
    });
    const counted = await (await this.openStores()).events.countCollection(projectId, collection);
    return {
      duplicateIds: [...duplicateIds],
      missingById,
      differentById,
      countDelta: counted - ids.length,
    };
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
   * With `settled`, it also waits until the queue holds no job still to
   * process: a request that timed out or answered 503 after its job was
   * enqueued is stored and counted later, and events stored after the scan
   * but counted before the counters are read would not add up. `timeoutMs` is the longest wait without progress: while more of the
   * acknowledged events arrive the wait goes on, since a backlog that drains
   * slowly on a loaded machine is late, not lost (the spec's own jest budget
   * bounds the whole wait).
   */
  async waitForMarkers(
    projectId: string,
    collection: string,
    markers: Iterable<string>,
    timeoutMs = 60_000,
    settled = true,
  ): Promise<StoredDoc[]> {
    const wanted = new Set(markers);
    let until = Date.now() + timeoutMs;
    let found = 0;
    let counted = 0;
    let docs: StoredDoc[] = [];
    let allHereAt: number | undefined;
    for (;;) {
      const t0 = Date.now();
      // Read before the scan, so a job finished by then is in it. An
      // unreachable shard is not waited for: its jobs are a spec's own subject.
      const drained = !settled || (await this.queuedJobs().catch(() => 0)) === 0;
      // A count first: far cheaper for the store than reading every body, so
      // polling does not slow the worker that is still writing. The whole
      // collection is read only once it holds at least as many events as
      // wanted (or when the wait is over, to report what is there).
      const count = await this.storedCount(projectId, collection).catch(() => null);
      if (count !== null && count > counted) {
        counted = count;
        until = Date.now() + timeoutMs;
      }
      if (count !== null && count < wanted.size && Date.now() <= until) {
        await sleep(Math.max(500, Date.now() - t0));
        continue;
      }
      const scanned = await this.scanDocs(projectId, collection).catch(() => null);
      if (scanned) {
        docs = scanned;
        const seen = new Set(docs.map((d) => d.e.marker as string));
        const present = [...wanted].filter((m) => seen.has(m)).length;
        if (present > found) {
          found = present;
          until = Date.now() + timeoutMs;
        }
        // Markers are looked up only once every event is there: on a big
        // collection that lookup costs as much as the scan.
        if (present === wanted.size) {
          if (!settled) return docs;
          const marked = await this.withMarkers(projectId, docs).catch(() => null);
          if (marked) docs = marked;
          if (marked?.every((d) => d.m === undefined)) {
            if (drained) return docs;
            // Only the queue is left. Something still writing (a spec's own
            // stream) keeps it from emptying and the collection growing, which
            // must not extend the wait for ever: it is bounded from here.
            allHereAt ??= Date.now();
            if (Date.now() - allHereAt > timeoutMs) return docs;
          }
        }
      }
      if (Date.now() > until) return docs;
      // Each poll reads the whole collection from the store the worker is
      // writing to: pause at least as long as the poll took, so polling never
      // takes more than half of the store's time.
      await sleep(Math.max(500, Date.now() - t0));
    }
  }

  /** Runs redis-cli against one shard (index 0 or 1). */
  async redis(shard: number, ...args: string[]): Promise<string> {
    const { stdout } = await run(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(this.ports.redis[shard]), ...args],
      {
        timeout: 5_000,
      },
    );
    return stdout.trim();
  }

  /** Ingest jobs a shard has seen and still keeps (waiting + active + completed + failed). */
  async shardJobs(shard: number, queue = 'tally-ingest', prefix = 'bull'): Promise<number> {
    return this.countJobs(shard, [...STILL_TO_PROCESS, 'completed', 'failed'], queue, prefix);
  }

  /**
   * Jobs a worker holds right now (BullMQ's active list), on every shard. Read
   * right after a worker is killed, it counts the jobs that died in flight:
   * they stay active until the stall check hands them to another worker.
   */
  async activeJobs(queue = 'tally-ingest', prefix = 'bull'): Promise<number> {
    const counts = await Promise.all(
      this.ports.redis.map((_, shard) => this.countJobs(shard, ['active'], queue, prefix)),
    );
    return counts.reduce((n, c) => n + c, 0);
  }

  /** Jobs one shard still has to process (waiting, active, prioritized or delayed). */
  async pendingJobs(shard: number, queue = 'tally-ingest', prefix = 'bull'): Promise<number> {
    return this.countJobs(shard, STILL_TO_PROCESS, queue, prefix);
  }

  /** Jobs every shard still has to process (waiting, active, prioritized or delayed). */
  async queuedJobs(queue = 'tally-ingest', prefix = 'bull'): Promise<number> {
    const counts = await Promise.all(
      this.ports.redis.map((_, shard) => this.countJobs(shard, STILL_TO_PROCESS, queue, prefix)),
    );
    return counts.reduce((n, c) => n + c, 0);
  }

  private async countJobs(
    shard: number,
    states: readonly string[],
    queue: string,
    prefix: string,
  ): Promise<number> {
    // BullMQ keeps waiting and active jobs in lists, every other state in a sorted set.
    const counts = await Promise.all(
      states.map((state) =>
        this.redis(
          shard,
          state === 'wait' || state === 'active' ? 'LLEN' : 'ZCARD',
          `${prefix}:${queue}:${state}`,
        ),
      ),
    );
    return counts.reduce((n, v) => n + (Number(v) || 0), 0);
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
    const stores = this.stores;
    this.stores = null;
    await stores?.then((s) => s.close()).catch(() => undefined);
    await stackDown({ stateDir: this.stateDir });
    const leaks = this.keyLeaks();
    if (!process.env.KEEP_SPLIT_STACK) fs.rmSync(this.stateDir, { recursive: true, force: true });
    if (leaks) throw new Error(leaks);
  }

  /**
   * Keys must not reach the apps' logs, the edge's access log or the journal.
   * (nginx's error log quotes request lines, query strings included, and
   * cannot redact them: docs/operations.md says so; it is not checked here.)
   */
  private keyLeaks(): string | undefined {
    const logs = path.join(this.stateDir, 'logs');
    const files = [
      ...(fs.existsSync(logs) ? fs.readdirSync(logs) : [])
        .filter((f) => /^(ingest|query|worker)-\d+\.log$/.test(f) || f.endsWith('-access.log'))
        .map((f) => path.join(logs, f)),
      ...nginxService.journalFiles(this.stateDir),
    ];
    for (const file of files) {
      try {
        assertNoKeysLogged(fs.readFileSync(file, 'utf8'));
      } catch (error) {
        return `${path.basename(file)}: ${(error as Error).message}`;
      }
    }
    return undefined;
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
 * Markers of stored events whose body is not the one their stream sent: the
 * streams send event n of a run as markedEvent(`<run>-<n>`, n), and the server
 * may only add `keen` (with the event's own id). Empty when every body is exact.
 */
export function bodiesNotAsSent(docs: StoredDoc[]): string[] {
  return docs
    .filter((doc) => {
      const marker = String(doc.e.marker);
      const n = Number(marker.slice(marker.lastIndexOf('-') + 1));
      const { keen, ...sentFields } = doc.e;
      return (
        keen?.id !== doc._id ||
        JSON.stringify(sentFields) !== JSON.stringify(markedEvent(marker, n))
      );
    })
    .map((doc) => String(doc.e.marker));
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
