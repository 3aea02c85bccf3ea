import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

/**
 * A client's retry, however late, stores nothing twice when the client names
 * its request with x-request-id (its idempotency key): keen.ids derive from
 * that id and the content, not from the receipt time. Without a key, two
 * attempts are two requests (Keen's behaviour too).
 */
describe('standalone: late client retries', () => {
  const server = new StandaloneServer();

  beforeAll(() => server.start());
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const post = (rest: string, body: object, requestId?: string) =>
    http('POST', `${server.url}/3.0/projects/default/${rest}`, {
      body,
      key: server.keys!.write_key,
      headers: requestId ? { 'x-request-id': requestId } : {},
    });

  it('stores a named request once however late its retry, and an unnamed one per attempt', async () => {
    const order = { marker: 'order-1', total: 42.5, items: ['a', 'b'] };
    const batch = { late: [{ marker: 'batch-0' }, { marker: 'batch-1' }] };
    const send = async () => {
      expect((await post('events/late', order, 'checkout-7f3a')).status).toBe(201);
      expect((await post('events', batch, 'batch-91c2')).status).toBe(200);
      expect((await post('events/late', { marker: 'anon' })).status).toBe(201);
    };
    await send();
    await new Promise((r) => setTimeout(r, 2_500));
    await send();

    const contents = new SqliteContents(server.dataDir);
    try {
      const stored = contents.events('default', 'late');
      const count = (m: string) => stored.filter((e) => e.event.marker === m).length;
      expect(['order-1', 'batch-0', 'batch-1', 'anon'].map(count)).toEqual([1, 1, 1, 2]);
      const { keen, ...fields } = stored.find((e) => e.event.marker === 'order-1')!.event as Record<string, unknown>;
      expect(fields).toEqual(order);
      expect(keen).toMatchObject({ id: expect.any(String) });
      expect(contents.counters('default')).toEqual(contents.recount('default'));
    } finally {
      contents.close();
    }
  });
});
