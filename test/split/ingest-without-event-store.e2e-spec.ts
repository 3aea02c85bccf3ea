/**
 * The ingest pool opens only the metadata side (StorageModule.forMetadata): on
 * the Cassandra stack it starts, reports ready and acknowledges writes while
 * Cassandra is down, and the worker stores exactly those events once Cassandra
 * is back. Both ingest processes are restarted with Cassandra stopped, so each
 * boots without it (not merely survives its loss, which store-down covers).
 *
 * The worker is stopped for the outage: the acknowledged events then wait in
 * Redis untouched, and what is stored afterwards is the work of one clean run.
 *
 * Only with STORE=cassandra: on the MongoDB stack events and metadata share one
 * server, so there is no separate event store to stop (jest.config.js leaves
 * this file out of the e2e-split project unless STORE=cassandra).
 *
 * Each acknowledged event's keen.id is derived here from what was sent (the
 * stack's ID_SECRET, the edge request id and start time from the journal, the
 * event's index and JSON text), so the stored and queried ids are checked
 * against the acknowledgements themselves, not only against each other.
 */
import * as fs from 'node:fs';
import { deriveEventId, parseIsoTimestamp, toIso } from '@app/events';
import { nginxService } from '@tools/stack';
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http, HttpResult } from '../support/http';
import {
  compareStored,
  ProjectKeys,
  SplitStack,
  splitStore,
  STACK_START_TIMEOUT_MS,
  STORE_AGREES,
  StoredDoc,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(600_000);

/** One event the client sent, and what the server answered for it. */
interface SentEvent {
  collection: string;
  body: Record<string, any>;
  /** Edge request id (the response's x-request-id). */
  requestId: string;
  /** Position in its collection's array (0 for a single POST). */
  index: number;
  acked: boolean;
}

interface JournalEntry {
  request_id: string;
  msec: string;
  status: string;
}

const TIMEFRAME = encodeURIComponent(
  JSON.stringify({ start: '2020-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' }),
);

describe('split deployment: ingest pool started while Cassandra is down', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  const sent: SentEvent[] = [];

  beforeAll(async () => {
    if (splitStore() !== 'cassandra')
      throw new Error('this spec needs STORE=cassandra (jest.config.js selects it only then)');
    stack = await SplitStack.start({ store: 'cassandra' });
    keys = await stack.createProject('no-event-store');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const url = (rest: string) => stack.url(keys.id, rest);
  const lastRun = (name: string) => stack.log(name).split('\n--- ').pop() ?? '';
  const isUp = async (name: string) => (await stack.status()).find((s) => s.name === name)?.up;

  function journal(): Map<string, JournalEntry> {
    const entries = nginxService
      .journalFiles(stack.stateDir)
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JournalEntry);
    return new Map(entries.map((e) => [e.request_id, e]));
  }

  /** keen.timestamp the server gives an event: the client's, else the edge's start time. */
  function expectedTimestamp(e: SentEvent, requestStart: number): number {
    const own = e.body.keen?.timestamp as string | undefined;
    return own === undefined ? requestStart : parseIsoTimestamp(own);
  }

  /** marker -> { id, timestamp } the server must have given each acknowledged event. */
  function expectedIds(): Map<string, { id: string; timestamp: string }> {
    const entries = journal();
    const out = new Map<string, { id: string; timestamp: string }>();
    for (const e of sent.filter((s) => s.acked)) {
      const entry = entries.get(e.requestId);
      if (!entry?.status.startsWith('2'))
        throw new Error(`request ${e.requestId} is not journaled as acknowledged`);
      const requestStart = Math.round(Number(entry.msec) * 1000);
      const timestamp = expectedTimestamp(e, requestStart);
      const id = deriveEventId(stack.env.ID_SECRET, {
        projectId: keys.id,
        collection: e.collection,
        requestId: e.requestId,
        requestStart,
        index: e.index,
        content: JSON.stringify(e.body),
        timestamp,
      });
      out.set(e.body.marker as string, { id, timestamp: toIso(timestamp) });
    }
    return out;
  }

  /**
   * A query through nginx. Each query process answers 503 (store unavailable)
   * until its Cassandra driver has reconnected, which it does on its own
   * schedule after the node is back: only that answer is waited out.
   */
  async function read(query: string): Promise<HttpResult> {
    let last: HttpResult | null = null;
    await waitFor(async () => {
      last = await http('GET', url(`/queries/${query}&timeframe=${TIMEFRAME}`), {
        key: keys.read_key,
      }).catch(() => null);
      return last !== null && last.status !== 503;
    }, 120_000);
    if (!last) throw new Error(`no answer to ${query}`);
    return last;
  }

  function requestId(res: HttpResult): string {
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    return id!;
  }

  it('restarts both ingest processes with Cassandra stopped; they report ready and acknowledge single and batch writes through nginx', async () => {
    // The project's warm-up writes are stored first, so the queue holds only what follows.
    await waitFor(async () => (await stack.queuedJobs()) === 0, 60_000);
    expect(await stack.queuedJobs()).toBe(0);
    expect(await stack.stopService('worker-1')).toBe(true);
    expect(await stack.stopService('cassandra')).toBe(true);
    expect(await isUp('cassandra')).toBe(false);

    for (const name of ['ingest-1', 'ingest-2']) {
      const before = (await stack.status()).find((s) => s.name === name)!.pid;
      const handle = await stack.restartService(name);
      expect(handle.pid).not.toBe(before);
      expect(lastRun(name)).toContain('Tally ingest listening');
    }
    expect(await isUp('cassandra')).toBe(false);
    for (const port of stack.ports.ingest) {
      const ready = await http('GET', `http://127.0.0.1:${port}/readyz`);
      expect({ status: ready.status, body: ready.body }).toEqual({
        status: 200,
        body: { status: 'ready', pool: 'ingest' },
      });
      const live = await http('GET', `http://127.0.0.1:${port}/healthz`);
      expect({ status: live.status, body: live.body }).toEqual({
        status: 200,
        body: { status: 'ok', pool: 'ingest' },
      });
    }

    // Single POSTs: more than two, so nginx's round robin reaches both processes.
    const singles: Record<string, any>[] = [
      { marker: 'single-1', price: 12.5, user: { id: 'u1', tier: 'gold' }, tags: ['a', 'b'] },
      { marker: 'single-2', price: 3, ok: true, keen: { timestamp: '2024-05-06T07:08:09.123Z' } },
      { marker: 'single-3', price: 0.25, note: 'héllo "quoted" \u2603', none: null },
      { marker: 'single-4', user: { id: 'u2', tier: null }, nested: { a: { b: 1 } } },
    ];
    for (const body of singles) {
      const res = await http('POST', url('/events/purchases'), { key: keys.write_key, body });
      expect({ status: res.status, body: res.body }).toEqual({
        status: 201,
        body: { created: true },
      });
      expect(res.headers.get('x-tally-pool')).toBe('ingest');
      sent.push({
        collection: 'purchases',
        body,
        requestId: requestId(res),
        index: 0,
        acked: true,
      });
    }

    // A write the pool refuses is answered as Keen does and must never be stored.
    const refusedSingle = { marker: 'single-refused', keen: { timestamp: 'not a date' } };
    const refused = await http('POST', url('/events/purchases'), {
      key: keys.write_key,
      body: refusedSingle,
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error_code: 'InvalidPropertyValueError' });
    sent.push({
      collection: 'purchases',
      body: refusedSingle,
      requestId: requestId(refused),
      index: 0,
      acked: false,
    });

    // One batch over two collections, with one event refused inside it.
    const batch = {
      purchases: [
        { marker: 'batch-1', price: 7.75, user: { id: 'u3', tier: 'silver' } },
        { marker: 'batch-2', keen: { timestamp: 'never' } },
        { marker: 'batch-3', price: 1, tags: [], keen: { timestamp: '2023-12-31T23:59:59.000Z' } },
      ],
      views: [
        { marker: 'view-1', page: '/a', ms: 12 },
        { marker: 'view-2', page: '/b', ms: 3.5, referrer: { host: 'example.com' } },
      ],
    };
    const res = await http('POST', url('/events'), { key: keys.write_key, body: batch });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tally-pool')).toBe('ingest');
    expect(res.body).toEqual({
      purchases: [
        { success: true },
        {
          success: false,
          error: { name: 'InvalidPropertyValueError', description: expect.any(String) },
        },
        { success: true },
      ],
      views: [{ success: true }, { success: true }],
    });
    const id = requestId(res);
    for (const [collection, events] of Object.entries(batch)) {
      events.forEach((body, index) =>
        sent.push({
          collection,
          body,
          requestId: id,
          index,
          acked: (res.body[collection] as Array<{ success: boolean }>)[index].success,
        }),
      );
    }

    expect(sent.filter((e) => e.acked).length).toBe(8);
    // Acknowledged means held by Redis: the stopped worker has not taken them.
    expect(await stack.queuedJobs()).toBeGreaterThan(0);
    expect(await isUp('cassandra')).toBe(false);
  });

  it('once Cassandra and the worker are back, exactly the acknowledged events are stored and queryable, with matching schema counters', async () => {
    expect(sent.filter((e) => e.acked).length).toBe(8);
    await stack.startService('cassandra');
    await stack.startService('worker-1');
    const consuming = await waitFor(
      async () => lastRun('worker-1').includes('Tally worker consuming'),
      120_000,
    );
    expect(consuming).toBe(true);

    const expected = expectedIds();
    for (const collection of ['purchases', 'views']) {
      const ofCollection = sent.filter((e) => e.collection === collection);
      const acked = ofCollection.filter((e) => e.acked);
      const markers = acked.map((e) => e.body.marker as string);
      const docs = await stack.waitForMarkers(keys.id, collection, markers, 180_000);

      // Stored: each acknowledged event once, nothing else, under the id its request derives.
      expect(
        compareStored(
          docs,
          markers,
          ofCollection.map((e) => e.body.marker as string),
        ),
      ).toEqual({ missing: [], duplicated: [], unknown: [] });
      expect(docs).toHaveLength(acked.length);
      expect(await stack.storeAgreement(keys.id, collection, docs)).toEqual(STORE_AGREES);
      const byMarker = new Map<string, StoredDoc>(docs.map((d) => [d.e.marker as string, d]));
      for (const e of acked) {
        const doc = byMarker.get(e.body.marker as string)!;
        const want = expected.get(e.body.marker as string)!;
        const { keen, ...body } = doc.e;
        const { keen: _sentKeen, ...sentBody } = e.body;
        expect(body).toEqual(sentBody);
        expect(doc._id).toBe(want.id);
        expect(keen.id).toBe(want.id);
        expect(keen.timestamp).toBe(want.timestamp);
        expect(doc.t.getTime()).toBe(Date.parse(want.timestamp));
        expect(Object.keys(keen).sort()).toEqual(['created_at', 'id', 'timestamp']);
        expect(Number.isNaN(Date.parse(keen.created_at))).toBe(false);
        expect(doc.m).toBeUndefined();
      }

      // Read back through nginx and the query pool: the same ids and bodies, and
      // the count. The query processes' own Cassandra connections come back on
      // the driver's reconnection schedule (docs/operations.md, "Health and
      // readiness"): read once both say they are ready again.
      for (const port of stack.ports.query) {
        const ready = await waitFor(
          async () => (await http('GET', `http://127.0.0.1:${port}/readyz`)).status === 200,
          90_000,
          500,
        );
        expect({ port, ready }).toEqual({ port, ready: true });
      }
      const extraction = await read(`extraction?event_collection=${collection}`);
      expect(extraction.status).toBe(200);
      expect(extraction.headers.get('x-tally-pool')).toBe('query');
      const extracted = extraction.body.result as Array<Record<string, any>>;
      expect(extracted.map((e) => e.keen.id).sort()).toEqual(
        acked.map((e) => expected.get(e.body.marker as string)!.id).sort(),
      );
      for (const event of extracted) expect(event).toEqual(byMarker.get(event.marker)!.e);
      const count = await read(`count?event_collection=${collection}`);
      expect(count.headers.get('x-tally-pool')).toBe('query');
      expect({ status: count.status, result: count.body.result }).toEqual({
        status: 200,
        result: acked.length,
      });

      // Schema counters: a recount of the stored events, which are exactly what was sent.
      const counters = await stack.counterDoc(keys.id, collection);
      const recount = recountCounters(docs);
      expect(recount.marker).toEqual({ string: acked.length });
      expect(nonZeroCounters(counters?.counts)).toEqual(recount);
      expect(counters?.pending ?? []).toEqual([]);
    }

    // The schema the query pool serves lists what the acknowledged events carried.
    const schema = await http('GET', url('/events/views'), { key: keys.read_key });
    expect(schema.status).toBe(200);
    expect(schema.headers.get('x-tally-pool')).toBe('query');
    expect(schema.body.properties).toMatchObject({
      marker: 'string',
      page: 'string',
      ms: 'num',
      'referrer.host': 'string',
    });
    expect(await stack.queuedJobs()).toBe(0);
  });
});
