/**
 * A client's retry, however late, stores nothing twice when the client names
 * its request (x-request-id, its idempotency key): the edge passes the id on
 * (x-client-request-id) and keen.ids derive from it and the content, not from
 * the edge's own id and time. Without a key, two attempts are two requests.
 * The journal records the client's id, so a replay of both attempts stores
 * nothing more. Runs on either event store.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http } from '../support/http';
import {
  ProjectKeys,
  sleep,
  SplitStack,
  STACK_START_TIMEOUT_MS,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(300_000);

describe('split deployment: late client retries', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('late-retry');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const post = (rest: string, body: object, requestId?: string) =>
    http('POST', `${stack.baseUrl}/3.0/projects/${keys.id}/${rest}`, {
      body,
      key: keys.write_key,
      headers: requestId ? { 'x-request-id': requestId } : {},
    });

  it('stores a named request once however late its retry, and an unnamed one per attempt', async () => {
    const from = Date.now();
    const order = { marker: 'order-1', total: 42.5, items: ['a', 'b'] };
    const batch = {
      late: [
        { marker: 'batch-0', n: 0 },
        { marker: 'batch-1', n: 1 },
      ],
    };
    expect((await post('events/late', order, 'checkout-7f3a')).status).toBe(201);
    expect((await post('events', batch, 'batch-91c2')).status).toBe(200);
    expect((await post('events/late', { marker: 'anon', n: 9 })).status).toBe(201);
    // The client gave up waiting and retries 2.5 s later, through another edge
    // request (new edge id and time), possibly to the other ingest process.
    await sleep(2_500);
    expect((await post('events/late', order, 'checkout-7f3a')).status).toBe(201);
    expect((await post('events', batch, 'batch-91c2')).status).toBe(200);
    expect((await post('events/late', { marker: 'anon', n: 9 })).status).toBe(201);
    // A different event under the same client id is a different event.
    expect((await post('events/late', { marker: 'order-2', total: 1 }, 'checkout-7f3a')).status).toBe(201);
    const to = Date.now() + 1;

    const markers = ['order-1', 'batch-0', 'batch-1', 'anon', 'order-2'];
    await stack.waitForMarkers(keys.id, 'late', markers, 120_000);
    // Every job the seven requests made has been processed: nothing more will come.
    expect(await waitFor(async () => (await stack.queuedJobs()) === 0, 120_000)).toBe(true);
    const settled = await stack.storedEvents(keys.id, 'late');
    expect(
      Object.fromEntries(markers.map((m) => [m, settled.filter((d) => d.e.marker === m).length])),
    ).toEqual({ 'order-1': 1, 'batch-0': 1, 'batch-1': 1, anon: 2, 'order-2': 1 });
    const stored = settled.find((d) => d.e.marker === 'order-1')!;
    const { keen, ...fields } = stored.e;
    expect(fields).toEqual(order);
    expect(keen.id).toBe(stored._id);
    const counters = await stack.counterDoc(keys.id, 'late');
    expect(nonZeroCounters(counters?.counts)).toEqual(recountCounters(settled));

    // The journal names the client's id: replaying both attempts adds nothing.
    const replay = await stack.replay(keys.id, from, to);
    // 9 events in 7 requests, 6 distinct keen.ids (the retries repeat theirs): all stored.
    expect(replay).toMatchObject({ requests: 7, inserted: 0, duplicates: 6 });
    expect((await stack.storedEvents(keys.id, 'late')).length).toBe(settled.length);
  });
});
