import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as app from './services/app.service';
import * as cassandra from './services/cassandra.service';
import * as mongo from './services/mongo.service';
import * as nginx from './services/nginx.service';
import * as redis from './services/redis.service';
import {
  isOurs,
  listRecords,
  probe,
  readRecord,
  signalRecorded,
  stopRecorded,
} from './process-control';
import { readStackFile, ServiceSpec, StackFile, writeStackFile } from './stack-config';
import { defaultStateDir, ensureDir } from './stack-paths';
import { ServiceHandle } from './service.types';

export type StackStore = 'mongo' | 'cassandra';

export interface StackPorts {
  nginx: number;
  ingest: number[];
  query: number[];
  worker: number[];
  redis: number[];
  mongo: number;
  cassandra: number;
  cassandraStorage: number;
}

export const DEFAULT_PORTS: StackPorts = {
  nginx: 8080,
  ingest: [3101, 3102],
  query: [3201, 3202],
  worker: [3301],
  redis: [6391, 6392],
  mongo: 27018,
  cassandra: 9042,
  cassandraStorage: 7000,
};

export interface StackOptions {
  /** State dir (pid records, logs, data); default `<repo>/.stack`. */
  stateDir?: string;
  /** Event store; default $STORE, else mongo. Metadata always lives in the Mongo-wire server. */
  store?: StackStore;
  ports?: Partial<StackPorts>;
  /** Start the app processes and nginx (default true); false starts only the servers. */
  apps?: boolean;
  /** Extra environment for the app processes (e.g. limits), on top of the stack's own. */
  env?: Record<string, string>;
  logLevel?: string;
  /** Mongo-wire backend: h2 (file, survives restarts; default) or memory. */
  mongoBackend?: 'h2' | 'memory';
  cassandraHeap?: string;
  /** Entry scripts instead of dist/apps/<app>/src/main.js (tests run stand-ins). */
  appMains?: Partial<Record<app.AppKind, string>>;
}

export interface ServiceStatus {
  name: string;
  pid: number | null;
  port: number;
  up: boolean;
}

export interface StackUpResult {
  stateDir: string;
  env: Record<string, string>;
  started: string[];
  alreadyRunning: string[];
  services: ServiceHandle[];
  /** Apps not started because their compiled entry point does not exist. */
  missingApps: string[];
}

function resolveStateDir(stateDir?: string): string {
  return resolve(stateDir ?? process.env.TALLY_STACK_DIR ?? defaultStateDir());
}

/** The id secret must stay the same for a state dir: replay re-derives ids with it. */
function idSecret(stateDir: string): string {
  const file = join(stateDir, 'id-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = process.env.ID_SECRET || randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

/** The services of the topology, in start order, with the options each is started with. */
export function planStack(options: StackOptions = {}): { stateDir: string; file: StackFile } {
  const stateDir = resolveStateDir(options.stateDir);
  ensureDir(stateDir);
  const store: StackStore = options.store ?? ((process.env.STORE as StackStore) || 'mongo');
  if (store !== 'mongo' && store !== 'cassandra') {
    throw new Error(
      `STORE must be mongo or cassandra for the split deployment (sqlite cannot be shared by processes), got "${store}"`,
    );
  }
  const ports: StackPorts = { ...DEFAULT_PORTS, ...options.ports };
  const env: Record<string, string> = {
    STORE: store,
    QUEUE: 'redis',
    MONGO_URL: mongo.mongoUrl(ports.mongo),
    MONGO_DATABASE: 'tally',
    REDIS_URLS: ports.redis.map((p) => `redis://127.0.0.1:${p}`).join(','),
    ID_SECRET: idSecret(stateDir),
  };
  if (store === 'cassandra') {
    env.CASSANDRA_CONTACT_POINTS = `127.0.0.1:${ports.cassandra}`;
    env.CASSANDRA_KEYSPACE = 'tally';
  }
  const appEnv = {
    ...env,
    TRUST_PROXY: 'true',
    // The ingest pool keeps the edge journal to its week (JOURNAL_KEEP_DAYS).
    JOURNAL_DIR: nginx.journalDir(stateDir),
    LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL ?? 'info',
    ...options.env,
  };

  const services: ServiceSpec[] = [];
  ports.redis.forEach((port, i) =>
    services.push({ name: `redis-${i + 1}`, kind: 'redis', port, options: {} }),
  );
  services.push({
    name: 'mongo',
    kind: 'mongo',
    port: ports.mongo,
    options: { backend: options.mongoBackend ?? 'h2' },
  });
  if (store === 'cassandra') {
    services.push({
      name: 'cassandra',
      kind: 'cassandra',
      port: ports.cassandra,
      options: { storagePort: ports.cassandraStorage, heap: options.cassandraHeap ?? '1G' },
    });
  }
  if (options.apps !== false) {
    const apps: Array<[app.AppKind, number[]]> = [
      ['worker', ports.worker],
      ['query', ports.query],
      ['ingest', ports.ingest],
    ];
    for (const [kind, list] of apps) {
      const main = options.appMains?.[kind];
      list.forEach((port, i) =>
        services.push({
          name: `${kind}-${i + 1}`,
          kind: 'app',
          port,
          options: { app: kind, env: appEnv, ...(main ? { main } : {}) },
        }),
      );
    }
    services.push({
      name: 'nginx',
      kind: 'nginx',
      port: ports.nginx,
      options: { ingestPorts: ports.ingest, queryPorts: ports.query },
    });
  }
  const file: StackFile = {
    version: 1,
    updatedAt: new Date().toISOString(),
    stateDir,
    store,
    env,
    services,
  };
  return { stateDir, file };
}

function startSpec(stateDir: string, spec: ServiceSpec): Promise<ServiceHandle> {
  const base = { name: spec.name, port: spec.port, stateDir };
  const o = spec.options as never;
  switch (spec.kind) {
    case 'redis':
      return redis.start(base);
    case 'mongo':
      return mongo.start({ ...base, ...(o as object) });
    case 'cassandra':
      return cassandra.start({ ...base, ...(o as object) });
    case 'app':
      return app.start({ ...base, ...(o as { app: app.AppKind; env: Record<string, string> }) });
    case 'nginx':
      return nginx.start({ ...base, ...(o as { ingestPorts: number[]; queryPorts: number[] }) });
  }
}

const STAGES: Array<Array<ServiceSpec['kind']>> = [
  ['redis', 'mongo', 'cassandra'],
  ['app'],
  ['nginx'],
];

/**
 * Installs what is missing and starts every service not already running (idempotent),
 * servers first, then the apps, then nginx; records the configuration in stack.json.
 */
export async function stackUp(options: StackOptions = {}): Promise<StackUpResult> {
  const { stateDir, file } = planStack(options);
  // Stores and CLI config are recorded first so the CLI finds them even if an app fails.
  writeStackFile(stateDir, file);
  const appSpecs = file.services.filter((s) => s.kind === 'app');
  const missing = app.missingApps(
    [...new Set(appSpecs.map((s) => (s.options as { app: app.AppKind }).app))].filter(
      (a) => !options.appMains?.[a],
    ),
  );
  const result: StackUpResult = {
    stateDir,
    env: file.env,
    started: [],
    alreadyRunning: [],
    services: [],
    missingApps: [],
  };
  for (const kinds of STAGES) {
    const specs = file.services.filter((s) => kinds.includes(s.kind));
    const toStart = specs.filter(
      (s) => !(s.kind === 'app' && missing.includes((s.options as { app: app.AppKind }).app)),
    );
    result.missingApps.push(...specs.filter((s) => !toStart.includes(s)).map((s) => s.name));
    // Installs (apt, mvn) are sequential: apt holds a lock; the starts run in parallel.
    for (const s of toStart) installFor(s.kind);
    const handles = await Promise.all(
      toStart.map(async (s) => {
        const was = readRecord(stateDir, s.name);
        const h = await startSpec(stateDir, s);
        (was && isOurs(was) && was.pid === h.pid ? result.alreadyRunning : result.started).push(
          s.name,
        );
        return h;
      }),
    );
    result.services.push(...handles);
  }
  return result;
}

function installFor(kind: ServiceSpec['kind']): void {
  if (kind === 'redis') redis.install();
  else if (kind === 'mongo') mongo.install();
  else if (kind === 'cassandra') cassandra.install();
  else if (kind === 'nginx') nginx.install();
}

/** Stops what this stack started (by recorded pid and start time): nginx, apps, then servers. */
export async function stackDown(options: { stateDir?: string } = {}): Promise<string[]> {
  const stateDir = resolveStateDir(options.stateDir);
  const records = listRecords(stateDir);
  const order = (kind: string) =>
    kind === 'nginx' ? 0 : kind === 'app-ingest' ? 1 : kind.startsWith('app-') ? 2 : 3;
  const stopped: string[] = [];
  for (const rank of [0, 1, 2, 3]) {
    const batch = records.filter((r) => order(r.kind) === rank);
    const done = await Promise.all(batch.map((r) => stopRecorded(stateDir, r.name)));
    batch.forEach((r, i) => done[i] && stopped.push(r.name));
  }
  return stopped;
}

/** One entry per planned (or recorded) process: is it ours, alive and answering? */
export async function stackStatus(options: { stateDir?: string } = {}): Promise<ServiceStatus[]> {
  const stateDir = resolveStateDir(options.stateDir);
  const file = readStackFile(stateDir);
  const names = new Map<string, number>();
  for (const s of file?.services ?? []) names.set(s.name, s.port);
  for (const r of listRecords(stateDir)) if (!names.has(r.name)) names.set(r.name, r.port);
  return Promise.all(
    [...names].map(async ([name, port]) => {
      const rec = readRecord(stateDir, name);
      const ours = !!rec && isOurs(rec);
      return { name, pid: ours ? rec!.pid : null, port, up: ours ? await probe(rec!) : false };
    }),
  );
}

/** Sends a signal to one service of the stack (fault tests: SIGSTOP/SIGCONT a Redis, SIGKILL the worker). */
export function signalService(
  name: string,
  signal: NodeJS.Signals,
  options: { stateDir?: string } = {},
): number {
  return signalRecorded(resolveStateDir(options.stateDir), name, signal).pid;
}

/** Starts one service of the recorded stack again (after a stop, a kill, or to restart it). */
export async function startService(
  name: string,
  options: { stateDir?: string } = {},
): Promise<ServiceHandle> {
  const stateDir = resolveStateDir(options.stateDir);
  const file = readStackFile(stateDir);
  const spec = file?.services.find((s) => s.name === name);
  if (!spec)
    throw new Error(`${name} is not a service of the stack in ${stateDir} (run stackUp first)`);
  return startSpec(stateDir, spec);
}

/** Gracefully stops one service of the stack; true if it was running. */
export function stopService(name: string, options: { stateDir?: string } = {}): Promise<boolean> {
  return stopRecorded(resolveStateDir(options.stateDir), name);
}

/** Graceful stop, then start with the same options (same ports, data and config). */
export async function restartService(
  name: string,
  options: { stateDir?: string } = {},
): Promise<ServiceHandle> {
  await stopService(name, options);
  return startService(name, options);
}
