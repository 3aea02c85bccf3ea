/**
 * Acceptance 1 (docs/design.md, lesson 1): nginx routes by method, path and query args,
 * and what goes in through it is stored field for field, in the event store the
 * suite runs on (STORE=mongo or cassandra; read through the EventStore port).
 */
import { http } from '../support/http';
import {
  ProjectKeys,
  SplitStack,
  STACK_START_TIMEOUT_MS,
  STORE_AGREES,
  StoredDoc,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(180_000);

describe('split deployment: routing and stored contents', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('routing');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const url = (rest: string) => stack.url(keys.id, rest);

  async function storedByMarker(
    collection: string,
    markers: string[],
  ): Promise<Map<string, StoredDoc>> {
    const docs = await stack.waitForMarkers(keys.id, collection, markers, 30_000);
    expect(await stack.storeAgreement(keys.id, collection, docs)).toEqual(STORE_AGREES);
    return new Map(docs.map((d) => [d.e.marker as string, d]));
  }

  /** The stored document is the sent event plus the server's keen fields, nothing more, nothing less. */
  function expectStoredAsSent(
    doc: StoredDoc | undefined,
    collection: string,
    sent: Record<string, any>,
  ): void {
    expect(doc).toBeDefined();
    const { keen, ...body } = doc!.e;
    const { keen: sentKeen, ...sentBody } = sent;
    expect(body).toEqual(sentBody);
    expect(doc!.p).toBe(keys.id);
    expect(doc!.c).toBe(collection);
    expect(doc!._id).toBe(keen.id);
    expect(typeof keen.id).toBe('string');
    expect(Number.isNaN(Date.parse(keen.created_at))).toBe(false);
    expect(doc!.t).toBeInstanceOf(Date);
    expect(doc!.t.getTime()).toBe(Date.parse(keen.timestamp));
    if (sentKeen?.timestamp)
      expect(Date.parse(keen.timestamp)).toBe(Date.parse(sentKeen.timestamp));
    expect(Object.keys(keen).sort()).toEqual(['created_at', 'id', 'timestamp']);
    // The write marker is removed once the event's counters are applied.
    expect(doc!.m).toBeUndefined();
  }

  it('single POST: 201 from the ingest pool, stored field for field', async () => {
    const event = {
      marker: 'single-1',
      keen: { timestamp: '2024-03-04T05:06:07.089Z' },
      text: 'héllo "quoted" \\ \u2603',
      n: 42,
      f: -0.125,
      big: 9007199254740991,
      yes: true,
      none: null,
      // Lists hold primitives only (Keen's ListsOfNonPrimitivesNotAllowedError).
      list: [1, 'two', 3.5, true, null],
      nested: { a: { b: { c: 'deep' } }, empty: {} },
      when: '2024-01-02T03:04:05Z',
    };
    const res = await http('POST', url('/events/purchases'), { key: keys.write_key, body: event });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ created: true });
    expect(res.headers.get('x-tally-pool')).toBe('ingest');
    const stored = await storedByMarker('purchases', ['single-1']);
    expectStoredAsSent(stored.get('single-1'), 'purchases', event);
  });

  it('batch POST: per-event results from the ingest pool, every event stored field for field', async () => {
    const batch = {
      clicks: [
        { marker: 'batch-1', page: '/a', user: { id: 1 } },
        { marker: 'batch-2', page: '/b', keen: { timestamp: '2023-12-31T23:59:59.000Z' } },
      ],
      views: [{ marker: 'batch-3', ms: 12.5, tags: [] }],
    };
    const res = await http('POST', url('/events'), { key: keys.write_key, body: batch });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tally-pool')).toBe('ingest');
    expect(res.body).toEqual({
      clicks: [{ success: true }, { success: true }],
      views: [{ success: true }],
    });
    const clicks = await storedByMarker('clicks', ['batch-1', 'batch-2']);
    expectStoredAsSent(clicks.get('batch-1'), 'clicks', batch.clicks[0]);
    expectStoredAsSent(clicks.get('batch-2'), 'clicks', batch.clicks[1]);
    const views = await storedByMarker('views', ['batch-3']);
    expectStoredAsSent(views.get('batch-3'), 'views', batch.views[0]);
  });

  it('GET beacon with data= goes to the ingest pool and is stored', async () => {
    const event = { marker: 'beacon-1', ref: 'https://example.com/?q=1&r=2', n: 7 };
    const data = Buffer.from(JSON.stringify(event)).toString('base64');
    const res = await http(
      'GET',
      url(
        `/events/pixels?api_key=${encodeURIComponent(keys.write_key)}&data=${encodeURIComponent(data)}`,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tally-pool')).toBe('ingest');
    expect(res.headers.get('content-type')).toContain('image/gif');
    const stored = await storedByMarker('pixels', ['beacon-1']);
    expectStoredAsSent(stored.get('beacon-1'), 'pixels', event);
  });

  it('queries, schema GETs and key management answer from the query pool, over the stored events', async () => {
    await storedByMarker('clicks', ['batch-1', 'batch-2']);
    const count = await waitFor(async () => {
      const r = await http(
        'GET',
        url(
          `/queries/count?event_collection=clicks&timeframe=${encodeURIComponent(JSON.stringify({ start: '2020-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' }))}`,
        ),
        { key: keys.read_key },
      );
      return r.status === 200 && r.body.result === 2 ? r : null;
    }, 20_000);
    expect(count).not.toBeNull();
    expect(count!.headers.get('x-tally-pool')).toBe('query');

    const post = await http('POST', url('/queries/count'), {
      key: keys.read_key,
      body: {
        event_collection: 'views',
        timeframe: { start: '2020-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' },
      },
    });
    expect(post.headers.get('x-tally-pool')).toBe('query');
    expect(post.status).toBe(200);
    expect(post.body.result).toBe(1);

    const all = await http('GET', url('/events'), { key: keys.read_key });
    expect(all.status).toBe(200);
    expect(all.headers.get('x-tally-pool')).toBe('query');
    const names = (all.body as Array<{ name: string }>).map((c) => c.name).sort();
    expect(names).toEqual(expect.arrayContaining(['clicks', 'pixels', 'purchases', 'views']));

    const one = await http('GET', url('/events/clicks'), { key: keys.read_key });
    expect(one.status).toBe(200);
    expect(one.headers.get('x-tally-pool')).toBe('query');
    expect(one.body.properties).toMatchObject({
      marker: 'string',
      page: 'string',
      'user.id': 'num',
    });

    const prop = await http('GET', url('/events/clicks/properties/page'), { key: keys.read_key });
    expect(prop.headers.get('x-tally-pool')).toBe('query');

    const keysList = await http('GET', url('/keys'), { key: keys.master_key });
    expect(keysList.headers.get('x-tally-pool')).toBe('query');
  });

  it('a DELETE on the write URL goes to the query pool (docs/design.md, lesson 1)', async () => {
    const del = await http('DELETE', url('/events/views'), { key: keys.master_key });
    expect(del.headers.get('x-tally-pool')).toBe('query');
    const delProp = await http('DELETE', url('/events/views/properties/ms'), {
      key: keys.master_key,
    });
    expect(delProp.headers.get('x-tally-pool')).toBe('query');
  });

  it('every response carries the edge request id', async () => {
    const res = await http('POST', url('/events/purchases'), {
      key: keys.write_key,
      body: { marker: 'rid-1' },
      headers: { 'x-request-id': 'client-chosen' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  });
});
