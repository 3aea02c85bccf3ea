// Drives the whole local topology through the same functions `npm run stack` and the
// e2e/fault tests use, with stand-in apps (the real ones are tested in test/).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { MongoClient } from 'mongodb';
import {
  restartService,
  signalService,
  stackDown,
  stackStatus,
  stackUp,
  startService,
  StackPorts,
} from './stack';
import { readStackConfig } from './stack-config';
import { defaultStateDir } from './stack-paths';
import { freePorts, sleep } from './process-control';

const stateDir = join(defaultStateDir(), `int-spec-stack-${process.pid}`);
let ports: Partial<StackPorts>;

beforeAll(async () => {
  const p = await freePorts(9);
  ports = {
    nginx: p[0],
    ingest: [p[1], p[2]],
    query: [p[3], p[4]],
    worker: [p[5]],
    redis: [p[6], p[7]],
    mongo: p[8],
  };
});

// A stand-in app: answers with its name and the configuration it was given; drains on SIGTERM.
const STUB_HTTP = `
const http = require('node:http');
const keys = ['PORT','STORE','QUEUE','MONGO_URL','MONGO_DATABASE','REDIS_URLS','ID_SECRET','TRUST_PROXY','LOG_LEVEL','EXTRA'];
const server = http.createServer((req, res) => {
  const env = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, url: req.url, method: req.method, env }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
// The worker stand-in serves only its health port (WORKER_HTTP_PORT), as the real one does.
const STUB_WORKER = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(JSON.stringify({ status: 'ok', pool: 'worker' })));
server.listen(Number(process.env.WORKER_HTTP_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const status = async () =>
  Object.fromEntries((await stackStatus({ stateDir })).map((s) => [s.name, s]));

describe('local stack (stand-in apps)', () => {
  jest.setTimeout(180_000);
  const stubDir = join(stateDir, 'stubs');

  beforeAll(() => {
    mkdirSync(stubDir, { recursive: true });
    writeFileSync(join(stubDir, 'http.js'), STUB_HTTP);
    writeFileSync(join(stubDir, 'worker.js'), STUB_WORKER);
  });

  afterAll(async () => {
    await stackDown({ stateDir });
    rmSync(stateDir, { recursive: true, force: true });
  });

  const up = () =>
    stackUp({
      stateDir,
      store: 'mongo',
      ports,
      env: { EXTRA: 'x1' },
      appMains: {
        ingest: join(stubDir, 'http.js'),
        query: join(stubDir, 'http.js'),
        worker: join(stubDir, 'worker.js'),
      },
    });

  it('up starts every process once, records the CLI config and routes through nginx', async () => {
    const first = await up();
    expect(first.missingApps).toEqual([]);
    expect(first.started.sort()).toEqual(
      [
        'redis-1',
        'redis-2',
        'mongo',
        'worker-1',
        'query-1',
        'query-2',
        'ingest-1',
        'ingest-2',
        'nginx',
      ].sort(),
    );
    const second = await up();
    expect(second.started).toEqual([]);
    expect(second.services.map((s) => s.pid).sort()).toEqual(
      first.services.map((s) => s.pid).sort(),
    );

    const st = await status();
    expect(Object.values(st).every((s) => s.up && typeof s.pid === 'number')).toBe(true);

    const cfg = readStackConfig(stateDir)!;
    expect(cfg).toMatchObject({
      STORE: 'mongo',
      QUEUE: 'redis',
      MONGO_URL: `mongodb://127.0.0.1:${ports.mongo}/tally`,
      REDIS_URLS: `redis://127.0.0.1:${ports.redis![0]},redis://127.0.0.1:${ports.redis![1]}`,
    });
    expect(cfg.ID_SECRET).toMatch(/^[0-9a-f]{64}$/);

    const res = await fetch(`http://127.0.0.1:${ports.nginx}/3.0/projects/p/events/c`, {
      method: 'POST',
      body: '{}',
    });
    const body = (await res.json()) as { pid: number; env: Record<string, string> };
    expect([st['ingest-1'].pid, st['ingest-2'].pid]).toContain(body.pid);
    expect(body.env).toMatchObject({
      ...cfg,
      TRUST_PROXY: 'true',
      EXTRA: 'x1',
      LOG_LEVEL: expect.any(String),
    });
    const q = await fetch(`http://127.0.0.1:${ports.nginx}/3.0/projects/p/queries/count`);
    expect([st['query-1'].pid, st['query-2'].pid]).toContain(
      ((await q.json()) as { pid: number }).pid,
    );
  });

  it('runs ingest at normal priority, the query pool and the worker at nice 10', async () => {
    await up();
    const st = await status();
    // Field 19 of /proc/<pid>/stat; the fields after the command name start at 3.
    const nice = (name: string) =>
      Number(readFileSync(`/proc/${st[name].pid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    expect(['ingest-1', 'ingest-2', 'query-1', 'query-2', 'worker-1'].map(nice)).toEqual([
      0, 0, 10, 10, 10,
    ]);
  });

  it('a SIGSTOPped Redis shows as down, and up again after SIGCONT', async () => {
    signalService('redis-2', 'SIGSTOP', { stateDir });
    try {
      expect((await status())['redis-2'].up).toBe(false);
      expect((await status())['redis-1'].up).toBe(true);
    } finally {
      signalService('redis-2', 'SIGCONT', { stateDir });
    }
    expect((await status())['redis-2'].up).toBe(true);
  });

  it('kill -9 of the worker shows as down; startService brings it back with a new pid', async () => {
    const before = (await status())['worker-1'].pid!;
    signalService('worker-1', 'SIGKILL', { stateDir });
    await sleep(300);
    expect((await status())['worker-1']).toMatchObject({ up: false, pid: null });
    const h = await startService('worker-1', { stateDir });
    expect(h.pid).not.toBe(before);
    expect((await status())['worker-1'].up).toBe(true);
  });

  it('restartService replaces one ingest process while nginx keeps answering writes', async () => {
    const before = (await status())['ingest-1'].pid;
    let failures = 0;
    let done = false;
    const load = (async () => {
      while (!done) {
        const r = await fetch(`http://127.0.0.1:${ports.nginx}/3.0/projects/p/events/c`, {
          method: 'POST',
          body: '{}',
        });
        if (r.status !== 200) failures++;
        await r.arrayBuffer();
      }
    })();
    const h = await restartService('ingest-1', { stateDir });
    done = true;
    await load;
    expect(h.pid).not.toBe(before);
    expect(failures).toBe(0);
  });

  it('the Mongo-wire server restarts with its data; Redis keeps its AOF data', async () => {
    const r = new Redis({ host: '127.0.0.1', port: ports.redis![0], lazyConnect: true });
    await r.connect();
    await r.set('stack:k', 'v1');
    r.disconnect();
    await restartService('redis-1', { stateDir });
    const r2 = new Redis({ host: '127.0.0.1', port: ports.redis![0], lazyConnect: true });
    await r2.connect();
    expect(await r2.get('stack:k')).toBe('v1');
    r2.disconnect();

    const url = readStackConfig(stateDir)!.MONGO_URL;
    const m = new MongoClient(url, { directConnection: true });
    await m
      .db()
      .collection('stack_probe')
      .insertOne({ _id: 'k' as never, n: 7 });
    await m.close();
    await restartService('mongo', { stateDir });
    const m2 = new MongoClient(url, { directConnection: true });
    expect(
      await m2
        .db()
        .collection('stack_probe')
        .findOne({ _id: 'k' as never }),
    ).toEqual({ _id: 'k', n: 7 });
    await m2.close();
  });

  it('down stops exactly what up started', async () => {
    const st = await status();
    const stopped = await stackDown({ stateDir });
    expect(stopped.sort()).toEqual(Object.keys(st).sort());
    expect(Object.values(await status()).every((s) => !s.up && s.pid === null)).toBe(true);
    // Gone, or a zombie its parent has not reaped yet (kill(pid, 0) still succeeds on those).
    for (const s of Object.values(st)) expect(await exitedWithin(s.pid!, 5000)).toBe(true);
  });
});

async function exitedWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    let state = '';
    try {
      process.kill(pid, 0);
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    } catch {
      return true;
    }
    if (state === 'Z') return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
