/**
 * Dead letters on the split deployment through the master-key API (nginx ->
 * query pool) and the CLI: listed, paged, shown, requeued and purged.
 * Requeued events are stored exactly once, field for field, and the schema
 * counters equal a recount.
 *
 * The entries are set aside the way the worker sets them aside
 * (IngestJobProcessor -> DeadLetterStore.add on the deployment's MongoDB):
 * the MongoDB-wire server of the tests refuses no event that passes the
 * ingest validation in a way an operator could lift afterwards (it has no
 * document validator). Among them: an event that is also stored already (a
 * delivery both stored and set aside), which a requeue must not store or
 * count twice, and one whose body was over the dead-letter store's limit,
 * kept cut and never requeued.
 */
import type { CollectionEvent } from '@app/events';
import { MongoDeadLetterStore } from '@app/storage/mongo';
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http } from '../support/http';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS, waitFor } from '../support/split-stack';

jest.setTimeout(150_000);

describe('split deployment: dead letters through the API and the CLI', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  let letters: MongoDeadLetterStore;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('dead-letters-api');
    letters = new MongoDeadLetterStore({
      url: stack.env.MONGO_URL,
      database: stack.env.MONGO_DATABASE,
    });
    await letters.init();
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await letters?.close();
    await stack?.stop();
  });

  const api = (method: string, rest: string, body?: unknown, key = keys.master_key) =>
    http(method, stack.url(keys.id, `/dead_letters${rest}`), {
      key,
      ...(body !== undefined ? { body } : {}),
    });

  async function cliJson(...args: string[]): Promise<any> {
    const result = await stack.cli(...args, '--json');
    expect({
      code: result.code,
      stderr: result.stderr.replace(/^tally: acting on .*\n/, ''),
    }).toEqual({
      code: 0,
      stderr: '',
    });
    return JSON.parse(result.stdout);
  }

  const storedOrders = async () =>
    (await stack.storedEvents(keys.id, 'orders')).sort((a, b) => (a._id < b._id ? -1 : 1));

  it('lists, shows, requeues and purges dead letters; requeued events are stored exactly once', async () => {
    const p = keys.id;
    const sent = [
      { sku: 'a-1', qty: 2, price: 9.5 },
      { sku: 'c-3', qty: 1, buyer: { id: 'u1', vip: true } },
    ];
    const write = await http('POST', stack.url(p, '/events'), {
      key: keys.write_key,
      body: { orders: sent },
    });
    expect(write.status).toBe(200);
    let stored = await waitFor(async () => {
      const docs = await storedOrders();
      return docs.length === 2 ? docs : null;
    }, 30_000);
    expect(stored!.map((d) => d.e.sku).sort()).toEqual(['a-1', 'c-3']);

    expect((await api('GET', '')).body).toEqual({ dead_letters: [], next_after: null });
    // Set aside as the worker does: two never stored, one stored already, one cut (over the body limit).
    const freshA = event(7, { sku: 'g-7', qty: 3, tags: ['x', 'y'] });
    const freshB = event(8, {
      sku: 'h-8',
      note: 'ünïcode "quoted"',
      buyer: { id: 'u2', vip: false },
    });
    const again: CollectionEvent = {
      collection: 'orders',
      id: stored![0]._id,
      timestamp: stored![0].t.getTime(),
      event: stored![0].e,
    };
    const huge = event(9, { sku: 'huge', pad: 'x'.repeat(8.5 * 1024 * 1024) });
    const reason = 'refused by the store: document failed validation (rule since lifted)';
    await letters.add(
      [freshA, freshB, again, huge].map((e, i) => ({
        projectId: p,
        event: e,
        reason,
        batchId: `batch-${i}`,
      })),
    );
    // Another project's entry is out of this project's reach.
    const other = event(10, { sku: 'other' });
    await letters.add([{ projectId: 'another-project', event: other, reason }]);
    const ids = [freshA.id, freshB.id, again.id, huge.id].sort();

    // Listed in keen.id order, a page at a time.
    const page1 = await api('GET', '?limit=3');
    expect(page1.status).toBe(200);
    expect(page1.body.next_after).toBe(ids[2]);
    const page2 = await api('GET', `?limit=3&after=${page1.body.next_after}`);
    expect(page2.body.next_after).toBeNull();
    const listed = [...page1.body.dead_letters, ...page2.body.dead_letters];
    expect(listed).toEqual(
      ids.map((id) => ({
        id,
        collection: 'orders',
        failed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        reason,
      })),
    );

    // Shown whole through the API; the CLI sees the same entries.
    const shown = await api('GET', `/${freshB.id}`);
    expect([shown.status, shown.body]).toEqual([
      200,
      {
        id: freshB.id,
        collection: 'orders',
        failed_at: listed.find((l) => l.id === freshB.id).failed_at,
        reason,
        batch_id: 'batch-1',
        truncated: false,
        event: freshB.event,
      },
    ]);
    const cut = await api('GET', `/${huge.id}`);
    expect([cut.body.truncated, Object.keys(cut.body.event)]).toEqual([true, ['truncated_json']]);
    expect((await cliJson('dead-letters', 'list', '--project', p)).map((l: any) => l.id)).toEqual(
      ids.map((id) => `${p}/${id}`),
    );
    expect((await cliJson('dead-letters', 'show', `${p}/${freshA.id}`)).event).toEqual(freshA);

    // Only the master key; bad input is a 400, an unknown or foreign id a 404.
    expect((await api('GET', '', undefined, keys.read_key)).status).toBe(403);
    expect((await api('POST', '/requeue', { all: true }, keys.write_key)).status).toBe(403);
    for (const missing of ['ffffffffffffffffffffffff', other.id]) {
      const res = await api('GET', `/${missing}`);
      expect([res.status, res.body.error_code]).toEqual([404, 'ResourceNotFoundError']);
    }
    for (const body of [
      {},
      { ids: [] },
      { all: false },
      { ids: ['../x'] },
      { ids: ['a'], all: true },
      { ids: Array(1001).fill('a') },
    ]) {
      const bad = await api('POST', '/requeue', body);
      expect([bad.status, bad.body.error_code]).toEqual([400, 'InvalidParameterError']);
    }
    for (const query of ['?limit=0', '?limit=1001', '?after=a%2Fb', '?other=1']) {
      const bad = await api('GET', query);
      expect([bad.status, bad.body.error_code]).toEqual([400, 'InvalidParameterError']);
    }

    // Requeue by id: the new ones stored once, the stored one not again, the foreign id not found.
    const requeued = await api('POST', '/requeue', { ids: [freshA.id, again.id, other.id] });
    expect([requeued.status, requeued.body]).toEqual([
      200,
      { inserted: 1, duplicates: 1, still_rejected: 0, skipped: 0, not_found: 1, more: false },
    ]);
    // Then everything left: the cut one is skipped and kept.
    expect((await api('POST', '/requeue', { all: true })).body).toEqual({
      inserted: 1,
      duplicates: 0,
      still_rejected: 0,
      skipped: 1,
      not_found: 0,
      more: false,
    });
    const before = stored!;
    stored = await storedOrders();
    expect(stored.map((d) => [d._id, d.e, d.t.getTime(), d.m])).toEqual(
      [
        ...before.map((d) => [d._id, d.e, d.t.getTime(), undefined]),
        ...[freshA, freshB].map((e) => [e.id, e.event, e.timestamp, undefined]),
      ].sort((x, y) => ((x[0] as string) < (y[0] as string) ? -1 : 1)),
    );
    expect(await stack.storedCount(p, 'orders')).toBe(4);
    expect(nonZeroCounters((await stack.counterDoc(p, 'orders'))?.counts)).toEqual(
      recountCounters(stored),
    );
    expect((await api('GET', '')).body.dead_letters.map((d: any) => d.id)).toEqual([huge.id]);

    // Requeueing them again changes nothing (their entries are gone).
    expect((await api('POST', '/requeue', { ids: [freshA.id, freshB.id] })).body).toMatchObject({
      inserted: 0,
      duplicates: 0,
      not_found: 2,
    });
    expect(await stack.storedCount(p, 'orders')).toBe(4);

    // The query pool answers with the requeued events.
    const extraction = await waitFor(async () => {
      const res = await http('GET', stack.url(p, '/queries/extraction?event_collection=orders'), {
        key: keys.read_key,
      });
      return res.status === 200 && res.body.result.length === 4 ? res.body.result : null;
    }, 15_000);
    expect((extraction as any[]).map((e) => e.sku).sort()).toEqual(['a-1', 'c-3', 'g-7', 'h-8']);

    // Purge: only by name or {"all": true}; the other project's entry stays.
    expect((await api('DELETE', '', {})).status).toBe(400);
    expect((await api('DELETE', '', { all: true })).body).toEqual({
      removed: 1,
      not_found: 0,
      more: false,
    });
    expect((await api('GET', '')).body).toEqual({ dead_letters: [], next_after: null });
    expect(await cliJson('dead-letters', 'list', '--project', p)).toEqual([]);
    expect((await letters.list({})).map((l) => l.id)).toEqual([`another-project/${other.id}`]);
  });
});

/** An event as the ingest pool prepares it (keen fields set). */
function event(n: number, body: Record<string, unknown>): CollectionEvent {
  const timestamp = Date.UTC(2024, 4, 1, 12, n);
  const id = `${Math.floor(timestamp / 1000).toString(16)}${String(n).padStart(16, '0')}`;
  return {
    collection: 'orders',
    id,
    timestamp,
    event: {
      ...body,
      keen: {
        timestamp: new Date(timestamp).toISOString(),
        created_at: new Date(timestamp + 1500).toISOString(),
        id,
      },
    },
  };
}
