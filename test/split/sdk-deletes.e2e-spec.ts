/**
 * Acceptance: deletes through unmodified keen-analysis and the Python keen
 * client, through nginx (DELETE on the write URL goes to the query pool),
 * remove exactly the expected events from the event store the suite runs on
 * (STORE=mongo or cassandra), and the schema counters equal a recount of what
 * is left. GET /3.0/projects/:id is served by the query pool.
 */
import * as http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http as request } from '../support/http';
import {
  emptyJsonDelete,
  ensurePythonKeen,
  keenAnalysisFor,
  nodeSdkDeletes,
  pythonSdkDeletes,
  SdkTarget,
  sdkDeleteEvents,
  writeBatch,
} from '../support/sdk-deletes';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS, waitFor } from '../support/split-stack';

jest.setTimeout(120_000);

describe('split deployment: SDK deletes through nginx', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  let target: SdkTarget;

  beforeAll(async () => {
    ensurePythonKeen();
    stack = await SplitStack.start();
    keys = await stack.createProject('sdk-deletes');
    target = { port: stack.ports.nginx, keys };
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  /** What the store holds for the collection, and its counters against a recount of it. */
  async function expectStoreHolds(collection: string, ns: number[]): Promise<void> {
    const docs = await stack.storedEvents(keys.id, collection);
    expect(docs.map((d) => d.e.n as number).sort((a, b) => a - b)).toEqual(ns);
    // Counters settle once the worker has applied them (markers gone).
    const settled = await waitFor(async () => {
      const counters = nonZeroCounters((await stack.counterDoc(keys.id, collection))?.counts);
      return isDeepStrictEqual(counters, recountCounters(docs)) ? counters : null;
    }, 15_000);
    expect(settled ?? nonZeroCounters((await stack.counterDoc(keys.id, collection))?.counts)).toEqual(recountCounters(docs));
  }

  it('keen-analysis del(): by filter, by keen.id and by a relative timeframe', async () => {
    const events = sdkDeleteEvents();
    await writeBatch(target, 'sdk_node', events);
    await nodeSdkDeletes(target, 'sdk_node', events);
    await expectStoreHolds('sdk_node', [1, 4, 5, 7]);
  });

  it('Python delete_events(): by filter, by keen.id and by an absolute timeframe', async () => {
    await pythonSdkDeletes(target, 'sdk_py', sdkDeleteEvents());
    await expectStoreHolds('sdk_py', [5, 6, 8, 9, 11]);
  });

  it('a JSON-typed DELETE with no body (plain or empty chunked) reaches the query pool and deletes', async () => {
    await writeBatch(target, 'sdk_empty', sdkDeleteEvents());
    await waitFor(async () => (await stack.storedCount(keys.id, 'sdk_empty')) === 12 || null, 30_000);
    expect(await emptyJsonDelete(target, 'sdk_empty')).toBe(204);
    expect(await stack.storedCount(keys.id, 'sdk_empty')).toBe(0);
    await writeBatch(target, 'sdk_empty', sdkDeleteEvents().slice(0, 3));
    await waitFor(async () => (await stack.storedCount(keys.id, 'sdk_empty')) === 3 || null, 30_000);
    const chunked = await new Promise<{ status: number; pool: unknown }>((resolve, reject) => {
      const req = http.request(
        `${stack.url(keys.id, '/events/sdk_empty')}`,
        {
          method: 'DELETE',
          headers: { authorization: keys.master_key, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, pool: res.headers['x-tally-pool'] }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(chunked).toEqual({ status: 204, pool: 'query' });
    expect(await stack.storedCount(keys.id, 'sdk_empty')).toBe(0);
  });

  it('GET /3.0/projects/:id: served by the query pool, with the collections that hold events', async () => {
    const res = await request('GET', stack.url(keys.id, ''), {
      key: keys.master_key,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tally-pool')).toBe('query');
    const base = `/3.0/projects/${keys.id}`;
    expect(res.body).toMatchObject({ id: keys.id, name: 'sdk-deletes', url: base, events_url: `${base}/events` });
    const names = (res.body.events as Array<{ name: string; url: string }>).map((e) => e.name);
    // sdk_empty was emptied; warmup is the collection createProject writes to.
    expect(names).toEqual(['sdk_node', 'sdk_py', 'warmup']);
    const { analysis, restore } = keenAnalysisFor(target);
    try {
      const project = await analysis.get({ url: analysis.url('projectId'), api_key: keys.master_key });
      expect(project).toEqual(res.body);
    } finally {
      restore();
    }
  });
});
