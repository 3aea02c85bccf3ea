/**
 * Health and readiness on the split deployment (docs/operations.md, "Health and
 * readiness"): each process's GET /readyz follows its own dependencies, answers
 * within READY_TIMEOUT_MS (plus HTTP slack) whatever they do, and comes back by
 * itself; GET /healthz answers throughout. Runs on either event store: the
 * event store stopped is the Mongo-wire server (STORE=mongo, which also holds
 * the metadata) or Cassandra (STORE=cassandra).
 */
import { http } from '../support/http';
import { SplitStack, STACK_START_TIMEOUT_MS, waitFor } from '../support/split-stack';

jest.setTimeout(300_000);

const READY_TIMEOUT_MS = 1500;
// nginx-free loopback HTTP, but on a loaded 2-core machine the event loop may lag.
const SLACK_MS = 1500;
const NOT_READY = { status: 503, error_code: 'ServiceUnavailableError' };

interface Probe {
  status: number;
  body: { status?: string; pool?: string; message?: string; error_code?: string };
  ms: number;
}

describe('split deployment: /healthz and /readyz follow each process own dependencies', () => {
  let stack: SplitStack;
  const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
  const probe = async (port: number, path: string): Promise<Probe> => {
    const t0 = Date.now();
    const res = await http('GET', url(port, path));
    return { status: res.status, body: res.body, ms: Date.now() - t0 };
  };
  const apps = () => [
    ...stack.ports.ingest.map((port) => ({ port, pool: 'ingest' })),
    ...stack.ports.query.map((port) => ({ port, pool: 'query' })),
    ...stack.ports.worker.map((port) => ({ port, pool: 'worker' })),
  ];
  const only = (pool: string) => apps().filter((a) => a.pool === pool);

  /** Every answer is bounded; returns the answers of one round over the given processes. */
  async function round(targets: { port: number }[], path = '/readyz'): Promise<Probe[]> {
    const answers = await Promise.all(targets.map((t) => probe(t.port, path)));
    for (const a of answers) expect(a.ms).toBeLessThan(READY_TIMEOUT_MS + SLACK_MS);
    return answers;
  }

  async function expectAllReady(): Promise<void> {
    for (const { port, pool } of apps()) {
      const ready = await probe(port, '/readyz');
      expect({ status: ready.status, body: ready.body }).toEqual({
        status: 200,
        body: { status: 'ready', pool },
      });
    }
  }

  /** Polls until every target is ready again (each probe bounded), within `timeoutMs`. */
  async function waitReady(targets: { port: number }[], timeoutMs: number): Promise<boolean> {
    return waitFor(
      async () => (await round(targets)).every((a) => a.status === 200),
      timeoutMs,
      500,
    );
  }

  async function expectAlive(): Promise<void> {
    for (const { port, pool } of apps()) {
      const live = await probe(port, '/healthz');
      expect({ status: live.status, body: live.body }).toEqual({
        status: 200,
        body: { status: 'ok', pool },
      });
      expect(live.ms).toBeLessThan(SLACK_MS);
    }
  }

  beforeAll(async () => {
    stack = await SplitStack.start({ env: { READY_TIMEOUT_MS: String(READY_TIMEOUT_MS) } });
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('every process answers /healthz and /readyz with its pool; the worker serves its metrics registry', async () => {
    await expectAlive();
    expect(await waitReady(apps(), 60_000)).toBe(true);
    await expectAllReady();
    const metrics = await fetch(url(stack.ports.worker[0], '/metrics'));
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    await metrics.text();
    const missing = await probe(stack.ports.worker[0], '/nothing');
    expect({ status: missing.status, error_code: missing.body.error_code }).toEqual({
      status: 404,
      error_code: 'ResourceNotFoundError',
    });
  });

  it('event store stopped: the query pool and the worker turn 503 naming it within the timeout, ingest stays ready; all ready again once it is back', async () => {
    const onMongo = stack.store === 'mongo';
    expect(await stack.stopService(stack.eventStoreService)).toBe(true);

    // The first probe after the stop already says so, and within the timeout.
    const query = await round(only('query'));
    const worker = await round(only('worker'));
    for (const a of [...query, ...worker]) {
      expect({ status: a.status, error_code: a.body.error_code }).toEqual(NOT_READY);
    }
    for (const a of query) {
      if (onMongo) {
        // The Mongo-wire server holds the metadata too: both stores are named.
        expect(a.body.message).toBe(
          `Not ready: event store: the MongoDB event store did not answer within ${READY_TIMEOUT_MS} ms; ` +
            `metadata store: the MongoDB metadata store did not answer within ${READY_TIMEOUT_MS} ms`,
        );
      } else {
        expect(a.body.message).toMatch(/^Not ready: event store: /);
        expect(a.body.message).not.toContain('metadata store');
      }
    }
    for (const a of worker) {
      if (onMongo) {
        expect(a.body.message).toBe(
          `Not ready: event store: the MongoDB event store did not answer within ${READY_TIMEOUT_MS} ms`,
        );
      } else {
        expect(a.body.message).toMatch(/^Not ready: event store: /);
      }
    }
    // Ingest needs neither store per request (keys come from its cache).
    for (const a of await round(only('ingest'))) {
      expect({ status: a.status, body: a.body }).toEqual({
        status: 200,
        body: { status: 'ready', pool: 'ingest' },
      });
    }
    // Still not ready a few seconds later (no stale success), alive throughout.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const a of await round([...only('query'), ...only('worker')])) {
      expect(a.status).toBe(503);
    }
    await expectAlive();

    await stack.startService(stack.eventStoreService);
    // On Cassandra the drivers reconnect on their own schedule (backoff from 1 s).
    expect(await waitReady(apps(), 150_000)).toBe(true);
    await expectAllReady();
    await expectAlive();
  });

  it('ingest stays ready with one Redis shard hung, turns unready with every shard down, and ready again after', async () => {
    const [port1, port2] = stack.ports.redis;
    stack.signal('redis-2', 'SIGSTOP');
    try {
      // One hung shard does not even slow the answer down: the other answers first.
      for (let i = 0; i < 3; i++) {
        for (const a of await round([...only('ingest'), ...only('worker')])) {
          expect({ status: a.status, body: a.body.status }).toEqual({ status: 200, body: 'ready' });
          expect(a.ms).toBeLessThan(SLACK_MS);
        }
      }

      expect(await stack.stopService('redis-1')).toBe(true);
      const down = await round([...only('ingest'), ...only('worker')]);
      for (const a of down) {
        expect({ status: a.status, error_code: a.body.error_code }).toEqual(NOT_READY);
        expect(a.body.message).toMatch(/^Not ready: queue: no queue shard is available \(/);
        // The hung shard is named with the timeout; the stopped one with its connection error.
        expect(a.body.message).toContain(
          `queue shard 127.0.0.1:${port2} did not answer within ${READY_TIMEOUT_MS} ms`,
        );
        expect(a.body.message).not.toContain(`127.0.0.1:${port1} did not answer`);
      }
      // The query pool does not use the queue.
      for (const a of await round(only('query'))) expect(a.status).toBe(200);
      await expectAlive();
    } finally {
      stack.signal('redis-2', 'SIGCONT');
    }
    await stack.startService('redis-1');
    expect(await waitReady(apps(), 60_000)).toBe(true);
    await expectAllReady();
    await expectAlive();
  });
});
