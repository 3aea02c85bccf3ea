import { declaredSizeRequest, http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

/**
 * Bad input gets a clear Keen-shaped error with the right status, never a 5xx,
 * and never a 2xx for data that is then dropped.
 */
describe('standalone: bad input', () => {
  const server = new StandaloneServer();
  let write: string;
  let read: string;
  const statuses: number[] = [];

  const call = async (...args: Parameters<typeof http>) => {
    const result = await http(...args);
    statuses.push(result.status);
    return result;
  };
  const events = (c: string) => `${server.url}/3.0/projects/default/events/${c}`;

  beforeAll(async () => {
    await server.start();
    write = server.keys!.write_key;
    read = server.keys!.read_key;
  });

  afterAll(async () => {
    await server.stop();
    server.remove();
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });

  it('answers malformed JSON with 400 InvalidJsonError', async () => {
    const res = await call('POST', events('c'), { raw: '{"a": 1,', key: write, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: 'InvalidJsonError' });
    expect(typeof res.body.message).toBe('string');
    expect(res.body.request_id).toBeTruthy();
    const empty = await call('POST', events('c'), { raw: '', key: write, headers: { 'content-type': 'application/json' } });
    expect(empty.status).toBe(400);
  });

  it('answers an oversize event, body and batch with 413', async () => {
    const bigEvent = await call('POST', events('c'), { body: { s: 'x'.repeat(1024 * 1024 + 10) }, key: write });
    expect(bigEvent.status).toBe(413);
    expect(bigEvent.body.error_code).toBe('EventTooLargeError');

    // Declares an 11 MB body and sends only its start: the server must answer
    // 413 from the declared length without reading it (and without a 5xx).
    const bigBody = await declaredSizeRequest('POST', `${server.url}/3.0/projects/default/events`, write, 11 * 1024 * 1024);
    statuses.push(bigBody.status);
    expect(bigBody.status).toBe(413);
    expect(bigBody.body.error_code).toBe('RequestTooLargeError');

    const bigBatch = await call('POST', `${server.url}/3.0/projects/default/events`, {
      body: { c: Array.from({ length: 5001 }, (_, i) => ({ i })) },
      key: write,
    });
    expect(bigBatch.status).toBe(413);
    expect(bigBatch.body.error_code).toBe('BatchTooLargeError');

    const contents = new SqliteContents(server.dataDir);
    expect(contents.events('default', 'c')).toEqual([]);
    contents.close();
  });

  it('names an invalid property', async () => {
    const dotted = await call('POST', events('c'), { body: { 'a.b': 1 }, key: write });
    expect(dotted.status).toBe(400);
    expect(dotted.body.error_code).toBe('InvalidPropertyNameError');
    expect(dotted.body.message).toContain('"a.b"');
    const dollar = await call('POST', events('c'), { body: { nested: { $x: 1 } }, key: write });
    expect(dollar.status).toBe(400);
    expect(dollar.body.message).toContain('nested.$x');
    const badCollection = await call('POST', events('_private'), { body: { a: 1 }, key: write });
    expect(badCollection.status).toBe(400);
    expect(badCollection.body.error_code).toBe('InvalidCollectionNameError');
  });

  it('stores the good events of a batch and reports the bad one', async () => {
    const res = await call('POST', `${server.url}/3.0/projects/default/events`, {
      body: {
        orders: [{ n: 1 }, { 'bad.name': 2 }, { n: 3 }],
        visits: [{ page: '/' }],
      },
      key: write,
    });
    expect(res.status).toBe(200);
    expect(res.body.orders[0]).toEqual({ success: true });
    expect(res.body.orders[1].success).toBe(false);
    expect(res.body.orders[1].error.name).toBe('InvalidPropertyNameError');
    expect(res.body.orders[1].error.description).toContain('bad.name');
    expect(res.body.orders[2]).toEqual({ success: true });
    expect(res.body.visits).toEqual([{ success: true }]);

    const contents = new SqliteContents(server.dataDir);
    const orders = contents.events('default', 'orders').map((e) => e.event.n).sort();
    expect(orders).toEqual([1, 3]);
    expect(contents.events('default', 'visits').map((e) => e.event.page)).toEqual(['/']);
    expect(contents.counters('default')).toEqual(contents.recount('default'));
    contents.close();
  });

  it('answers 401 for a missing or wrong key, 403 for too little access, 404 for an unknown project', async () => {
    const missing = await call('POST', events('c'), { body: { a: 1 } });
    expect(missing.status).toBe(401);
    expect(missing.body.error_code).toBe('InvalidApiKeyError');
    const wrong = await call('POST', events('c'), { body: { a: 1 }, key: 'f'.repeat(64) });
    expect(wrong.status).toBe(401);
    const readKeyWriting = await call('POST', events('c'), { body: { a: 1 }, key: read });
    expect(readKeyWriting.status).toBe(403);
    const writeKeyQuerying = await call('GET', `${server.url}/3.0/projects/default/events`, { key: write });
    expect(writeKeyQuerying.status).toBe(403);
    const unknown = await call('POST', `${server.url}/3.0/projects/nope/events/c`, { body: { a: 1 }, key: write });
    expect(unknown.status).toBe(404);
    const contents = new SqliteContents(server.dataDir);
    expect(contents.events('default', 'c')).toEqual([]);
    contents.close();
  });

  it('answers unknown routes with a Keen-shaped 404 and sets the pool header everywhere', async () => {
    const res = await call('GET', `${server.url}/3.0/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('ResourceNotFoundError');
    expect(res.headers.get('x-tally-pool')).toBe('standalone');
    const health = await call('GET', `${server.url}/healthz`);
    expect(health.body).toEqual({ status: 'ok', pool: 'standalone' });
    expect(health.headers.get('x-tally-pool')).toBe('standalone');
  });
});
