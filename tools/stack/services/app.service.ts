import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  assertPortFree,
  liveRecord,
  spawnRecorded,
  serviceHandle,
  stopRecorded,
  waitReady,
} from '../process-control';
import { repoRoot } from '../stack-paths';
import { ServiceHandle, ServiceStartOptions } from '../service.types';

export type AppKind = 'ingest' | 'query' | 'worker';

export interface AppStartOptions extends ServiceStartOptions {
  app: AppKind;
  /** The app's whole configuration: the apps read nothing but environment variables. */
  env: Record<string, string>;
  /** Entry script instead of dist/apps/<app>/src/main.js (tests run stand-ins). */
  main?: string;
  /** CPU priority (`nice` level, 0-19); default appNice(app). */
  nice?: number;
}

const DEFAULT_BACKGROUND_NICE = 10;

/**
 * Ingest runs at normal priority; the query pool and the worker run at nice 10
 * (TALLY_STACK_QUERY_NICE; 0 turns it off). On one host the pools share the
 * CPUs, and a mass delete or a heavy query must not move ingest latency (the
 * write path's isolation, docs/design.md): the kernel then gives ingest the CPU
 * first and the query side whatever is left. Acknowledgements never wait for
 * the worker (they wait for Redis), so a slower worker only delays storage.
 */
export function appNice(app: AppKind, env: NodeJS.ProcessEnv = process.env): number {
  if (app === 'ingest') return 0;
  const raw = env.TALLY_STACK_QUERY_NICE;
  if (raw === undefined || raw === '') return DEFAULT_BACKGROUND_NICE;
  const nice = Number(raw);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
    throw new Error(`TALLY_STACK_QUERY_NICE must be an integer from 0 to 19, got "${raw}"`);
  }
  return nice;
}

export function mainPath(app: AppKind): string {
  return join(repoRoot(), 'dist', 'apps', app, 'src', 'main.js');
}

/** Apps whose compiled entry point is missing (not written yet, or `npm run build` not run). */
export function missingApps(apps: AppKind[]): AppKind[] {
  return apps.filter((a) => !existsSync(mainPath(a)));
}

/**
 * The variables a process needs to run at all; everything else it gets is the stack's
 * explicit configuration, so a stray variable in the caller's shell cannot change it.
 */
function baseEnv(): Record<string, string> {
  const keep = [
    'PATH',
    'HOME',
    'LANG',
    'LC_ALL',
    'TZ',
    'TMPDIR',
    'NODE_OPTIONS',
    'NODE_EXTRA_CA_CERTS',
  ];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

/**
 * Resolves true when GET http://127.0.0.1:port<path> answers 200 within the
 * timeout (a process that accepts TCP but does not answer is not up).
 */
export function httpOk(port: number, path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * What start() waits for: ingest and query processes until GET /readyz is 200
 * (their dependencies answer: nginx may send them traffic); the worker until
 * GET /healthz is 200 on its WORKER_HTTP_PORT (its readiness follows the event
 * store, which may legitimately be down while it starts: it consumes once the
 * store is back).
 */
export function readyPath(app: AppKind): string {
  return app === 'worker' ? '/healthz' : '/readyz';
}

export async function start(opts: AppStartOptions): Promise<ServiceHandle> {
  const running = liveRecord(opts.stateDir, opts.name);
  if (running) return serviceHandle(opts, running.pid);
  const main = opts.main ?? mainPath(opts.app);
  if (!existsSync(main)) {
    throw new Error(
      `${opts.name}: ${main} does not exist; apps/${opts.app}/src/main.ts is not written or not built (npm run build)`,
    );
  }
  await assertPortFree(opts.name, opts.port);
  const nice = opts.nice ?? appNice(opts.app);
  // Through nice(1), which execs node: every thread (libuv pool, V8 helpers)
  // starts at that priority, and the pid and start time stay node's.
  const command = nice > 0 ? ['nice', '-n', String(nice), process.execPath] : [process.execPath];
  const rec = spawnRecorded({
    name: opts.name,
    kind: `app-${opts.app}`,
    port: opts.port,
    stateDir: opts.stateDir,
    command: command[0],
    args: [...command.slice(1), main],
    cwd: repoRoot(),
    env: {
      ...baseEnv(),
      ...opts.env,
      PORT: String(opts.port),
      // The worker's health and metrics server (worker-http.ts) listens on its port.
      ...(opts.app === 'worker' ? { WORKER_HTTP_PORT: String(opts.port) } : {}),
    },
    probe: 'tcp',
    // Apps drain on SIGTERM: stop accepting, finish in-flight work, flush batches.
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 30_000,
  });
  const path = readyPath(opts.app);
  await waitReady(rec, () => httpOk(opts.port, path, 2500), opts.readyTimeoutMs ?? 60_000);
  return serviceHandle(opts, rec.pid);
}

export function stop(stateDir: string, name: string): Promise<boolean> {
  return stopRecorded(stateDir, name);
}
