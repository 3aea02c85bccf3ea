import { declaredSizeRequest } from '../support/http';
import { StandaloneServer } from '../support/standalone-server';
import { ensureKeenClient, runKeenScript } from '../support/python-keen';

/**
 * Keen's access keys through the unmodified PyPI client (create, every
 * update call, revoke, unrevoke, delete; writes carry the autofill, queries
 * see only the forced filters' events), then the API's own guarantees over
 * raw HTTP: statuses, hostile bodies, and what each right allows.
 */
describe('access keys', () => {
  const server = new StandaloneServer();
  let keys: { write_key: string; read_key: string; master_key: string };

  const call = (
    method: string,
    path: string,
    key: string,
    body?: unknown,
    type = 'application/json',
  ) =>
    fetch(`${server.url}/3.0/projects/default${path}`, {
      method,
      headers: { authorization: key, ...(body === undefined ? {} : { 'content-type': type }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

  beforeAll(async () => {
    ensureKeenClient();
    await server.start();
    keys = server.keys!;
  }, 180_000);

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it("works through Keen's Python client: autofill on writes, forced filters on queries, every update call", () => {
    const out = runKeenScript('keen_access_keys.py', {
      TALLY_URL: server.url,
      TALLY_PROJECT: 'default',
      TALLY_WRITE_KEY: keys.write_key,
      TALLY_READ_KEY: keys.read_key,
      TALLY_MASTER_KEY: keys.master_key,
    });
    const red = [{ property_name: 'team', operator: 'eq', property_value: 'red' }];
    expect(out.created).toMatchObject({
      project_id: 'default',
      name: 'red team',
      is_active: true,
      permitted: ['writes', 'queries', 'saved_queries'],
      options: {
        queries: { filters: red },
        writes: { autofill: { team: 'red', source: { via: 'access key', app: 'py' } } },
      },
    });
    expect(out.created.key).toMatch(/^[0-9a-f]{64}$/);

    // Autofill: deep-merged, the event's own values win; the write key adds nothing.
    expect(out.stored).toEqual([
      { n: 1, team: 'red', source: { via: 'access key', app: 'py' } },
      { n: 2, team: 'red', source: { via: 'access key', app: 'py' } },
      { n: 3, team: 'blue', source: { via: 'access key', app: 'py' } },
      { n: 4, team: 'red', source: { via: 'access key', app: 'ios' } },
      { n: 5, team: 'red', source: null },
      { n: 6, team: 'green', source: null },
    ]);
    // Forced filter team = red: events 1, 2, 4, 5; the client's own filter cannot widen it.
    expect(out.master_count).toBe(6);
    expect(out.scoped_count).toBe(4);
    expect(out.scoped_count_widened).toBe(4);
    expect(out.scoped_extraction).toEqual([1, 2, 4, 5]);
    expect(out.scoped_sum).toBe(1 + 2 + 4 + 5);
    expect(out.scoped_schema.error_code).toBe('InsufficientKeyPermissionsError');
    expect(out.saved_master).toBe(6);
    expect(out.saved_scoped).toBe(4);

    expect(out.read_key_lists_keys.error_code).toBe('AdminOnlyEndpointError');
    expect(out.write_key_creates_key.error_code).toBe('AdminOnlyEndpointError');
    expect(out.access_key_lists_keys.error_code).toBe('AdminOnlyEndpointError');

    const { key, ...withoutKey } = out.created;
    expect(out.got).toEqual(out.created); // looked up by the key itself: the key is echoed
    expect(out.listed).toEqual([withoutKey]); // a list never shows keys
    expect(out.renamed).toMatchObject({
      name: 'red team (renamed)',
      permitted: ['writes', 'queries', 'saved_queries'],
    });
    expect([...out.added.permitted].sort()).toEqual([
      'queries',
      'saved_queries',
      'schema',
      'writes',
    ]);
    expect(out.scoped_schema_after_add).toEqual(['ak_orders']);
    expect([...out.removed.permitted].sort()).toEqual(['queries', 'saved_queries', 'schema']);
    expect(out.write_after_remove.error_code).toBe('InsufficientKeyPermissionsError');
    expect(out.options_replaced.options).toEqual({
      queries: { filters: [{ property_name: 'n', operator: 'gte', property_value: 5 }] },
    });
    expect(out.options_replaced.name).toBe('red team (renamed)');
    expect(out.scoped_count_after_options).toBe(2); // n 5 and 6
    expect([...out.permissions_replaced.permitted].sort()).toEqual(['queries', 'writes']);
    expect(out.full).toMatchObject({
      key,
      name: 'red team',
      is_active: true,
      permitted: ['queries'],
      options: { queries: { filters: red } },
    });

    expect(out.revoked.is_active).toBe(false);
    expect(out.query_after_revoke.error_code).toBe('InvalidApiKeyError');
    expect(out.unrevoked.is_active).toBe(true);
    expect(out.count_after_unrevoke).toBe(4);
    expect(out.deleted).toBe(true);
    expect(out.query_after_delete.error_code).toBe('InvalidApiKeyError');
    expect(out.get_after_delete.error_code).toBe('ResourceNotFoundError');
    expect(out.listed_after_delete).toEqual([]);
  }, 120_000);

  it('answers each operation with the right status and refuses what the key is not permitted', async () => {
    const created = await json(
      await call('POST', '/keys', keys.master_key, { name: 'reader', permitted: ['queries'] }),
    );
    expect(created.status).toBe(201);
    const reader = created.body.key as string;
    // Named by its key_hash as well as by itself.
    const byHash = await json(await call('GET', `/keys/${created.body.key_hash}`, keys.master_key));
    expect(byHash.status).toBe(200);
    expect(byHash.body.key).toBeUndefined();
    expect(byHash.body.name).toBe('reader');

    expect((await call('GET', '/queries/count?event_collection=none', reader)).status).toBe(200);
    expect((await call('POST', '/events/c', reader, { a: 1 })).status).toBe(403);
    expect((await call('GET', '/events', reader)).status).toBe(403);
    expect((await call('GET', '/events/c', reader)).status).toBe(403);
    expect((await call('GET', '/keys', reader)).status).toBe(403);
    expect((await call('DELETE', '/events/c', reader)).status).toBe(403);
    expect((await call('GET', '/keys', keys.read_key)).status).toBe(403);
    expect((await call('POST', '/keys', keys.write_key, { name: 'x' })).status).toBe(403);

    // Allow and block lists of saved and cached queries.
    const saved = { query: { analysis_type: 'count', event_collection: 'c' }, refresh_rate: 0 };
    for (const name of ['open', 'closed']) {
      expect((await call('PUT', `/queries/saved/${name}`, keys.master_key, saved)).status).toBe(
        201,
      );
    }
    const listed = await json(
      await call('POST', '/keys', keys.master_key, {
        name: 'one saved query',
        permitted: ['saved_queries'],
        options: { saved_queries: { allowed: ['open', 'closed'], blocked: ['closed'] } },
      }),
    );
    const lister = listed.body.key as string;
    expect((await call('GET', '/queries/saved/open/result', lister)).status).toBe(200);
    const closed = await json(await call('GET', '/queries/saved/closed/result', lister));
    expect(closed).toMatchObject({
      status: 403,
      body: { error_code: 'InsufficientKeyPermissionsError' },
    });
    expect((await call('GET', '/queries/count?event_collection=c', lister)).status).toBe(403);

    // The project's own keys are not access keys: they cannot be revoked or deleted here.
    for (const own of [keys.master_key, keys.read_key]) {
      const res = await json(await call('POST', `/keys/${own}/revoke`, keys.master_key));
      expect(res).toMatchObject({ status: 404, body: { error_code: 'ResourceNotFoundError' } });
    }
    expect((await call('GET', '/events', keys.read_key)).status).toBe(200);
    expect((await call('DELETE', '/keys/not-a-key', keys.master_key)).status).toBe(404);

    // A revoked key is refused at once by this process; deleting is 204, then 404.
    expect((await call('POST', `/keys/${reader}/revoke`, keys.master_key)).status).toBe(200);
    expect((await call('GET', '/queries/count?event_collection=none', reader)).status).toBe(401);
    expect((await call('DELETE', `/keys/${reader}`, keys.master_key)).status).toBe(204);
    expect((await call('DELETE', `/keys/${reader}`, keys.master_key)).status).toBe(404);
  });

  it('refuses hostile and malformed keys with a clear 4xx and stores nothing', async () => {
    const before = (await json(await call('GET', '/keys', keys.master_key))).body;
    const bad: [unknown, string][] = [
      [{ name: 'x', permitted: ['writes', 'everything'] }, '"permitted" has "everything"'],
      [{ name: 'x', options: { querys: {} } }, 'unknown field "querys"'],
      [{ name: 'x', surprise: 1 }, 'unknown field "surprise"'],
      [{ permitted: ['writes'] }, '"name" must be'],
      [{ name: 'x', is_active: 'yes' }, '"is_active" must be'],
      [
        {
          name: 'x',
          options: {
            queries: { filters: [{ property_name: 'a', operator: 'like', property_value: 1 }] },
          },
        },
        'operator must be one of',
      ],
      [
        {
          name: 'x',
          options: {
            queries: {
              filters: [
                { property_name: 'a', operator: 'in', property_value: Array(20_000).fill(1) },
              ],
            },
          },
        },
        'more than the limit of',
      ],
      [{ name: 'x', options: { writes: { autofill: { 'a.b': 1 } } } }, "cannot contain the '.'"],
      [{ name: 'x', options: { writes: { autofill: { $set: 1 } } } }, "cannot start with the '$'"],
      [{ name: 'x', options: { writes: { autofill: 'team=red' } } }, 'must be a JSON object'],
      [{ name: 'x', options: { saved_queries: { allowed: 'all' } } }, 'must be a list'],
      [{ name: 'x', options: { datasets: { operations: ['drop'] } } }, '"drop"'],
      [[{ name: 'x' }], 'is a JSON object'],
    ];
    for (const [body, message] of bad) {
      const res = await json(await call('POST', '/keys', keys.master_key, body));
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(message);
    }
    // A key named __proto__ in the autofill or the options is data, refused or kept as data, never a prototype.
    const proto = await json(
      await call(
        'POST',
        '/keys',
        keys.master_key,
        '{"name":"p","options":{"writes":{"autofill":{"__proto__":{"admin":true}}}}}',
      ),
    );
    expect(proto.status).toBe(400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const protoOption = await json(
      await call(
        'POST',
        '/keys',
        keys.master_key,
        '{"name":"p","options":{"__proto__":{"queries":{}}}}',
      ),
    );
    expect(protoOption.status).toBe(400);

    expect((await call('POST', '/keys', keys.master_key, '{"name": "x"')).status).toBe(400);
    // Every body is read as JSON whatever its type (Keen's clients are loose about it): XML is a 400.
    const xml = await json(
      await call('POST', '/keys', keys.master_key, '<key name="x"/>', 'application/xml'),
    );
    expect(xml).toMatchObject({ status: 400, body: { error_code: 'InvalidJsonError' } });
    const tooBig = await declaredSizeRequest(
      'POST',
      `${server.url}/3.0/projects/default/keys`,
      keys.master_key,
      11 * 1024 * 1024,
    );
    expect(tooBig.status).toBe(413);
    expect((await json(await call('GET', '/keys', keys.master_key))).body).toEqual(before);
  });

  it('keeps keys across a restart', async () => {
    const created = await json(
      await call('POST', '/keys', keys.master_key, {
        name: 'kept',
        is_active: false,
        permitted: ['writes'],
        options: { writes: { autofill: { app: 'kept' } } },
      }),
    );
    await server.stop();
    await server.start();
    const got = await json(await call('GET', `/keys/${created.body.key}`, keys.master_key));
    expect(got).toEqual({ status: 200, body: created.body });
    expect((await call('POST', '/events/c', created.body.key, { a: 1 })).status).toBe(401);
    await call('POST', `/keys/${created.body.key}/unrevoke`, keys.master_key);
    expect((await call('POST', '/events/c', created.body.key, { a: 1 })).status).toBe(201);
  }, 60_000);
});
