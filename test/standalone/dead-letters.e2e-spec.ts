/**
 * The dead-letter API on the standalone server. Standalone answers a write
 * only after its SQLite transaction committed, so an event the store refuses
 * is refused to the client and never set aside: its dead-letter list stays
 * empty (entries set aside by the worker are exercised on the split
 * deployment, test/split/dead-letters.e2e-spec.ts). What is checked here is
 * the API itself as standalone serves it: master key only, the list's shape
 * and paging bounds, 404 for an unknown entry, every bad input a 400, and a
 * requeue or purge that names nothing existing stores and removes nothing.
 */
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

jest.setTimeout(60_000);

describe('standalone: the dead-letter API', () => {
  const server = new StandaloneServer();
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const url = (rest = '') => `${server.url}/3.0/projects/default/dead_letters${rest}`;

  it('answers the master key only, with Keen-shaped errors for bad input, and changes nothing', async () => {
    const keys = server.keys!;
    const write = await http('POST', `${server.url}/3.0/projects/default/events/orders`, {
      key: keys.write_key,
      body: { sku: 'a-1', qty: 2 },
    });
    expect(write.status).toBe(201);

    expect(await http('GET', url(), { key: keys.master_key })).toMatchObject({
      status: 200,
      body: { dead_letters: [], next_after: null },
    });
    for (const key of [keys.read_key, keys.write_key]) {
      expect((await http('GET', url(), { key })).status).toBe(403);
      expect((await http('POST', url('/requeue'), { key, body: { all: true } })).status).toBe(403);
      expect((await http('DELETE', url(), { key, body: { all: true } })).status).toBe(403);
    }
    expect((await http('GET', url())).status).toBe(401);

    const missing = await http('GET', url('/ffffffffffffffffffffffff'), { key: keys.master_key });
    expect([missing.status, missing.body.error_code]).toEqual([404, 'ResourceNotFoundError']);

    for (const query of ['?limit=0', '?limit=1001', '?limit=abc', '?after=a%2Fb', '?foo=1']) {
      const bad = await http('GET', url(query), { key: keys.master_key });
      expect([query, bad.status, bad.body.error_code]).toEqual([
        query,
        400,
        'InvalidParameterError',
      ]);
    }
    const badBodies: unknown[] = [
      {},
      [],
      'all',
      { all: false },
      { all: true, ids: ['a'] },
      { ids: [] },
      { ids: 'a' },
      { ids: ['a/b'] },
      { ids: [1] },
      { ids: Array(1001).fill('a') },
    ];
    for (const body of badBodies) {
      for (const [method, path] of [
        ['POST', '/requeue'],
        ['DELETE', ''],
      ]) {
        const bad = await http(method, url(path), { key: keys.master_key, body });
        expect([method, bad.status, bad.body.error_code]).toEqual([
          method,
          400,
          'InvalidParameterError',
        ]);
      }
    }

    expect(
      (await http('POST', url('/requeue'), { key: keys.master_key, body: { all: true } })).body,
    ).toEqual({
      inserted: 0,
      duplicates: 0,
      still_rejected: 0,
      skipped: 0,
      not_found: 0,
      more: false,
    });
    expect(
      (
        await http('POST', url('/requeue'), {
          key: keys.master_key,
          body: { ids: ['ffffffffffffffffffffffff'] },
        })
      ).body,
    ).toMatchObject({ inserted: 0, not_found: 1 });
    expect(
      (await http('DELETE', url(), { key: keys.master_key, body: { ids: ['abc', 'abc'] } })).body,
    ).toEqual({
      removed: 0,
      not_found: 1,
      more: false,
    });

    // The one stored event is as it was, once.
    const contents = new SqliteContents(server.dataDir);
    expect(contents.events('default', 'orders').map((e) => e.event.sku)).toEqual(['a-1']);
    expect(contents.counters('default')).toEqual(contents.recount('default'));
    contents.close();
  });
});
