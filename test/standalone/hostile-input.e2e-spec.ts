import { execFile } from 'node:child_process';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { declaredSizeRequest, http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { CLI_MAIN, ProjectKeys, StandaloneServer } from '../support/standalone-server';

const run = promisify(execFile);

/**
 * Replays, as tests, what a hostile-but-fair tenant did to a shared server:
 * prototype pollution through `__proto__` names, reused request ids, bodies of
 * every content type, URLs and headers no client should send. Tenant B's
 * answers and stored events must not move, nothing may answer 5xx, and the
 * server's log (at debug level here) must never hold a key.
 */
describe('standalone: hostile input', () => {
  const server = new StandaloneServer(undefined, {
    KEY_CACHE_REFRESH_MS: '200',
    LOG_LEVEL: 'debug',
    REQUEST_TIMEOUT_MS: '1500',
  });
  let a: ProjectKeys;
  let b: ProjectKeys;
  const statuses: { status: number; what: string }[] = [];

  const call = async (what: string, ...args: Parameters<typeof http>) => {
    const result = await http(...args);
    statuses.push({ status: result.status, what });
    return result;
  };
  const url = (project: string, rest: string) => `${server.url}/3.0/projects/${project}/${rest}`;

  async function createProject(name: string): Promise<ProjectKeys> {
    const { stdout } = await run(
      process.execPath,
      [CLI_MAIN, 'projects', 'create', name, '--json'],
      {
        env: {
          ...process.env,
          DATA_DIR: server.dataDir,
          TALLY_STACK_FILE: '/nonexistent/stack.json',
        },
      },
    );
    const keys = JSON.parse(stdout) as ProjectKeys;
    // Usable once the server's key cache has refreshed.
    for (let i = 0; i < 50; i++) {
      const res = await http('GET', url(keys.id, 'events'), { key: keys.read_key });
      if (res.status === 200) return keys;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`project ${name} never became usable`);
  }

  beforeAll(async () => {
    await server.start();
    a = await createProject('tenant-a');
    b = await createProject('tenant-b');
  }, 60_000);

  afterAll(async () => {
    await server.stop();
    server.remove();
    expect(statuses.filter((s) => s.status >= 500)).toEqual([]);
  });

  describe('prototype pollution cannot cross tenants', () => {
    const amounts = [1, 2, 3];
    let baseline: Record<string, unknown>;
    let storedBefore: unknown[];

    async function tenantBView(): Promise<Record<string, unknown>> {
      const q = (analysis: string, body: object) =>
        call(`B ${analysis}`, 'POST', url(b.id, `queries/${analysis}`), {
          key: b.read_key,
          body: { event_collection: 'purchases', ...body },
        });
      const [sum, count, extraction, grouped, schema] = await Promise.all([
        q('sum', { target_property: 'amount' }),
        q('count', {}),
        q('extraction', {}),
        q('count', { group_by: 'kind' }),
        call('B schema', 'GET', url(b.id, 'events/purchases'), { key: b.read_key }),
      ]);
      return {
        sum: sum.body,
        count: count.body,
        extraction: extraction.body,
        grouped: grouped.body,
        schema: schema.body,
      };
    }

    beforeAll(async () => {
      for (const amount of amounts) {
        const res = await call('B write', 'POST', url(b.id, 'events/purchases'), {
          key: b.write_key,
          body: {
            amount,
            kind: amount % 2 ? 'odd' : 'even',
            keen: { timestamp: `2024-03-0${amount}T10:00:00.000Z` },
          },
        });
        expect(res.status).toBe(201);
      }
      baseline = await tenantBView();
      expect(baseline.sum).toEqual({ result: 6 });
      expect(baseline.count).toEqual({ result: 3 });
      const contents = new SqliteContents(server.dataDir);
      storedBefore = contents.events(b.id);
      contents.close();
      expect(storedBefore).toHaveLength(3);
    });

    it('refuses a document owning __proto__ on every write route, storing nothing', async () => {
      const poison =
        '{"__proto__":{"filters":[{"property_name":"amount","operator":"gt","property_value":2}]}}';
      for (const type of ['text/plain', 'application/json', '', 'application/octet-stream']) {
        const res = await call(`poison ${type}`, 'POST', url(a.id, 'events/atk'), {
          key: a.write_key,
          raw: poison,
          headers: type ? { 'content-type': type } : {},
        });
        expect(res.status).toBe(400);
        expect(res.body.error_code).toBe('InvalidPropertyNameError');
        expect(res.body.message).toContain('__proto__');
      }
      const beacon = await call(
        'poison beacon',
        'GET',
        url(
          a.id,
          `events/atk?api_key=${a.write_key}&data=${Buffer.from(poison).toString('base64')}`,
        ),
      );
      expect(beacon.status).toBe(400);
      const nested = await call('poison nested', 'POST', url(a.id, 'events/atk'), {
        key: a.write_key,
        raw: '{"user":{"__proto__":{"keen":{"timestamp":"2000-01-01T00:00:00Z"}}}}',
        headers: { 'content-type': 'text/plain' },
      });
      expect(nested.status).toBe(400);
      expect(nested.body.error_code).toBe('InvalidPropertyNameError');
      expect(nested.body.message).toContain('__proto__');
      const escaped = await call('poison escaped', 'POST', url(a.id, 'events/atk'), {
        key: a.write_key,
        raw: '{"\\u005f_proto__":{"x":1}}',
        headers: { 'content-type': 'application/json' },
      });
      expect(escaped.status).toBe(400);
      expect(escaped.body.error_code).toBe('InvalidPropertyNameError');

      // A batch holding one anywhere is refused whole (the parser refuses the
      // document), with the reason; nothing of it is stored. Without it, all is.
      const batch = await call('poison batch', 'POST', url(a.id, 'events'), {
        key: a.write_key,
        raw: '{"atk":[{"ok":1},{"__proto__":{"keen":{"nope":1}}},{"ok":2}]}',
        headers: { 'content-type': 'text/plain' },
      });
      expect(batch.status).toBe(400);
      expect(batch.body.error_code).toBe('InvalidPropertyNameError');
      const before = new SqliteContents(server.dataDir);
      expect(before.events(a.id, 'atk')).toEqual([]);
      before.close();
      const clean = await call('clean batch', 'POST', url(a.id, 'events'), {
        key: a.write_key,
        raw: '{"atk":[{"ok":1},{"ok":2}]}',
        headers: { 'content-type': 'text/plain' },
      });
      expect(clean.body.atk).toEqual([{ success: true }, { success: true }]);

      const contents = new SqliteContents(server.dataDir);
      const stored = contents.events(a.id, 'atk').map((e) => {
        const { keen, ...rest } = e.event;
        expect(keen).toBeDefined();
        return rest;
      });
      contents.close();
      expect(stored.sort((x, y) => Number(x.ok) - Number(y.ok))).toEqual([{ ok: 1 }, { ok: 2 }]);
    });

    it('refuses __proto__ paths in queries with a 400 naming the parameter', async () => {
      const queries: [string, object][] = [
        ['extraction', { property_names: ['__proto__.filters'] }],
        ['extraction', { property_names: ['__proto__.keen'] }],
        ['count', { group_by: '__proto__' }],
        ['sum', { target_property: '__proto__' }],
        ['count', { group_by: ['kind', 'a.__proto__.b'] }],
      ];
      for (const [analysis, params] of queries) {
        const res = await call(`proto ${analysis}`, 'POST', url(a.id, `queries/${analysis}`), {
          key: a.read_key,
          body: { event_collection: 'atk', ...params },
        });
        expect(res.status).toBe(400);
        expect(typeof res.body.message).toBe('string');
      }
      // A filter on such a path matches what no event holds: nothing.
      const filtered = await call('proto filter', 'POST', url(a.id, 'queries/count'), {
        key: a.read_key,
        body: {
          event_collection: 'atk',
          filters: [{ property_name: '__proto__.ok', operator: 'exists', property_value: true }],
        },
      });
      expect(filtered.body).toEqual({ result: 0 });
    });

    it('keeps constructor, toString and friends as ordinary data in events, schema, groups and labels', async () => {
      const names = {
        constructor: 'c',
        toString: 't',
        valueOf: 1,
        hasOwnProperty: true,
        prototype: { isPrototypeOf: 2 },
      };
      const res = await call('names write', 'POST', url(a.id, 'events/names'), {
        key: a.write_key,
        body: names,
      });
      expect(res.status).toBe(201);
      const schema = await call('names schema', 'GET', url(a.id, 'events/names'), {
        key: a.read_key,
      });
      expect(schema.body.properties).toMatchObject({
        constructor: 'string',
        toString: 'string',
        valueOf: 'num',
        hasOwnProperty: 'bool',
        'prototype.isPrototypeOf': 'num',
      });
      const prop = await call(
        'names property',
        'GET',
        url(a.id, 'events/names/properties/constructor'),
        { key: a.read_key },
      );
      expect(prop.status).toBe(200);
      expect(prop.body).toMatchObject({ property_name: 'constructor', type: 'string' });
      // A collection without that property does not pretend to have it.
      const missing = await call(
        'missing property',
        'GET',
        url(a.id, 'events/atk/properties/constructor'),
        { key: a.read_key },
      );
      expect(missing.status).toBe(404);

      const extraction = await call('names extraction', 'POST', url(a.id, 'queries/extraction'), {
        key: a.read_key,
        body: {
          event_collection: 'names',
          property_names: ['constructor', 'prototype.isPrototypeOf'],
        },
      });
      expect(extraction.body.result).toEqual([
        { constructor: 'c', prototype: { isPrototypeOf: 2 } },
      ]);

      const grouped = await call('names group', 'POST', url(a.id, 'queries/count'), {
        key: a.read_key,
        body: { event_collection: 'names', group_by: 'constructor' },
      });
      expect(grouped.body.result).toEqual([{ constructor: 'c', result: 1 }]);

      // A group VALUE "__proto__" and a label "__proto__" are data, never dropped.
      await call('proto value', 'POST', url(a.id, 'events/names'), {
        key: a.write_key,
        body: { constructor: '__proto__' },
      });
      const byValue = await call('proto group value', 'POST', url(a.id, 'queries/count'), {
        key: a.read_key,
        body: { event_collection: 'names', group_by: 'constructor' },
      });
      expect(byValue.body.result).toEqual([
        { constructor: '__proto__', result: 1 },
        { constructor: 'c', result: 1 },
      ]);
      const protoLabel = await call('proto label', 'POST', url(a.id, 'queries/multi_analysis'), {
        key: a.read_key,
        raw: '{"event_collection":"names","analyses":{"__proto__":{"analysis_type":"count"},"constructor":{"analysis_type":"count"}}}',
        headers: { 'content-type': 'application/json' },
      });
      expect(protoLabel.status).toBe(400);
      expect(protoLabel.body.message).toContain('__proto__');
      const labelled = await call(
        'constructor label',
        'POST',
        url(a.id, 'queries/multi_analysis'),
        {
          key: a.read_key,
          raw: '{"event_collection":"names","analyses":{"constructor":{"analysis_type":"count"},"toString":{"analysis_type":"count"}}}',
          headers: { 'content-type': 'application/json' },
        },
      );
      expect(labelled.status).toBe(200);
      expect(JSON.parse(labelled.text)).toEqual({ result: { constructor: 2, toString: 2 } });
      // The same in a GET query string (JSON text parameters go through the same parser).
      const getFilters = encodeURIComponent(
        '[{"property_name":"x","operator":"eq","property_value":{"__proto__":{"a":1}}}]',
      );
      const viaGet = await call(
        'proto GET filters',
        'GET',
        url(
          a.id,
          `queries/count?api_key=${a.read_key}&event_collection=names&filters=${getFilters}`,
        ),
      );
      expect(viaGet.status).toBe(400);
      expect(viaGet.body.message).toContain('__proto__');
    });

    it("leaves tenant B's answers, stored events and new writes untouched", async () => {
      expect(await tenantBView()).toEqual(baseline);
      const contents = new SqliteContents(server.dataDir);
      expect(contents.events(b.id)).toEqual(storedBefore);
      const before = Date.now();
      const res = await call('B write after', 'POST', url(b.id, 'events/fresh'), {
        key: b.write_key,
        body: { n: 1 },
      });
      expect(res.status).toBe(201);
      const fresh = contents.events(b.id, 'fresh');
      contents.close();
      expect(fresh).toHaveLength(1);
      expect(fresh[0].event.n).toBe(1);
      const keen = fresh[0].event.keen as { timestamp: string };
      expect(Date.parse(keen.timestamp)).toBeGreaterThanOrEqual(before - 1000);
      expect(Object.keys(fresh[0].event.keen as object).sort()).toEqual([
        'created_at',
        'id',
        'timestamp',
      ]);
    });
  });

  describe('a reused request id', () => {
    const headers = { 'x-request-id': 'sdk-middleware-fixed-id' };

    it('stores every different event sent under it, and a retried event once', async () => {
      const timestamp = '2024-06-01T12:00:00.000Z';
      for (const item of ['a', 'b', 'c']) {
        const res = await call('reuse single', 'POST', url(a.id, 'events/reuse'), {
          key: a.write_key,
          headers,
          body: { item, keen: { timestamp } },
        });
        expect(res.status).toBe(201);
      }
      const batch = await call('reuse batch', 'POST', url(a.id, 'events'), {
        key: a.write_key,
        headers,
        body: {
          reuse: [
            { item: 'd', keen: { timestamp } },
            { item: 'e', keen: { timestamp } },
            { item: 'f', keen: { timestamp } },
          ],
        },
      });
      expect(batch.body.reuse).toEqual([{ success: true }, { success: true }, { success: true }]);
      // The SDK's retry of the first request: the same event, the same id.
      const retry = await call('reuse retry', 'POST', url(a.id, 'events/reuse'), {
        key: a.write_key,
        headers,
        body: { item: 'a', keen: { timestamp } },
      });
      expect(retry.status).toBe(201);
      const batchRetry = await call('reuse batch retry', 'POST', url(a.id, 'events'), {
        key: a.write_key,
        headers,
        body: {
          reuse: [
            { item: 'd', keen: { timestamp } },
            { item: 'e', keen: { timestamp } },
            { item: 'f', keen: { timestamp } },
          ],
        },
      });
      expect(batchRetry.status).toBe(200);

      const contents = new SqliteContents(server.dataDir);
      const stored = contents.events(a.id, 'reuse');
      contents.close();
      expect(stored.map((e) => e.event.item).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
      expect(new Set(stored.map((e) => e.id)).size).toBe(6);
      // A retry of an event without its own timestamp, seconds later, is still the same event.
      const untimed = await call('reuse untimed', 'POST', url(a.id, 'events/reuse'), {
        key: a.write_key,
        headers,
        body: { item: 'g' },
      });
      expect(untimed.status).toBe(201);
      await new Promise((r) => setTimeout(r, 1_100));
      await call('reuse untimed retry', 'POST', url(a.id, 'events/reuse'), {
        key: a.write_key,
        headers,
        body: { item: 'g' },
      });
      const after = new SqliteContents(server.dataDir);
      expect(after.events(a.id, 'reuse').filter((e) => e.event.item === 'g')).toHaveLength(1);
      after.close();
      const count = await call(
        'reuse count',
        'GET',
        url(a.id, `queries/count?api_key=${a.read_key}&event_collection=reuse`),
      );
      expect(count.body).toEqual({ result: 7 });
    });
  });

  describe('no 5xx from any content type, body or method', () => {
    const contentTypes = [
      'text/plain',
      '',
      'application/octet-stream',
      'application/xml',
      'text/html',
      'multipart/form-data',
      'application/x-www-form-urlencoded',
      'application/json',
    ];
    const bodies = [
      '',
      'garbage',
      '{',
      '<a/>',
      '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
      'a=1&b=2',
    ];

    it('answers every combination with a Keen-shaped 2xx/4xx', async () => {
      const targets: [string, string, string][] = [
        ['POST', 'events/ct', a.write_key],
        ['POST', 'events', a.write_key],
        ['DELETE', 'events/ct_delete', a.master_key],
        ['DELETE', 'events/ct_delete/properties/p', a.master_key],
        ['POST', 'queries/count', a.read_key],
        ['POST', 'queries/extraction/stream', a.read_key],
        ['POST', 'keys', a.master_key],
      ];
      const problems: string[] = [];
      for (const [method, path, key] of targets) {
        for (const type of contentTypes) {
          for (const raw of bodies) {
            const res = await call(`${method} ${path} ${type}`, method, url(a.id, path), {
              key,
              raw,
              headers: type ? { 'content-type': type } : {},
            });
            const keenShaped =
              res.status < 400 ||
              (typeof res.body?.message === 'string' && typeof res.body?.error_code === 'string');
            if (res.status >= 500 || !keenShaped)
              problems.push(
                `${method} ${path} [${type}] ${JSON.stringify(raw.slice(0, 12))} → ${res.status} ${res.text.slice(0, 120)}`,
              );
          }
        }
      }
      expect(problems).toEqual([]);
      const contents = new SqliteContents(server.dataDir);
      // None of those bodies is an event: nothing was stored under 'ct'.
      expect(contents.events(a.id, 'ct')).toEqual([]);
      contents.close();
    });

    it('takes a DELETE with a JSON content type and an empty body, as Keen SDKs send it', async () => {
      const batch = await call('sdk delete seed', 'POST', url(a.id, 'events'), {
        key: a.write_key,
        body: { sdk_delete: [{ n: 1 }, { n: 2 }], sdk_keep: [{ n: 3 }] },
      });
      expect(batch.body.sdk_delete).toEqual([{ success: true }, { success: true }]);
      const filters = encodeURIComponent(
        JSON.stringify([{ property_name: 'n', operator: 'eq', property_value: 1 }]),
      );
      const res = await call(
        'sdk delete',
        'DELETE',
        `${url(a.id, 'events/sdk_delete')}?filters=${filters}`,
        {
          key: a.master_key,
          raw: '',
          headers: { 'content-type': 'application/json' },
        },
      );
      expect(res.status).toBe(204);
      const contents = new SqliteContents(server.dataDir);
      expect(contents.events(a.id, 'sdk_delete').map((e) => e.event.n)).toEqual([2]);
      expect(contents.events(a.id, 'sdk_keep').map((e) => e.event.n)).toEqual([3]);
      contents.close();
    });

    it('answers an unserved method on a served path with 405 and Allow', async () => {
      const res = await call('405', 'PUT', url(a.id, 'events/x'), {
        key: a.write_key,
        body: { a: 1 },
      });
      expect(res.status).toBe(405);
      expect(res.body.error_code).toBe('MethodNotAllowedError');
      expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD, POST');
      const unknown = await call('404', 'PUT', `${server.url}/nowhere`, {});
      expect(unknown.status).toBe(404);
      expect(unknown.body.error_code).toBe('ResourceNotFoundError');
    });

    it('refuses out-of-range dates, broken escapes and oversized filters with 4xx', async () => {
      const interval = await call('interval range', 'POST', url(a.id, 'queries/count'), {
        key: a.read_key,
        body: {
          event_collection: 'atk',
          interval: 'daily',
          timeframe: { start: '9999-12-01T00:00:00Z', end: '+275760-09-13T00:00:00Z' },
        },
      });
      expect(interval.status).toBe(400);
      expect(interval.body.error_code).toBe('TimeframeDefinitionError');
      const offset = await call('offset', 'POST', url(a.id, 'events/ts'), {
        key: a.write_key,
        body: { keen: { timestamp: '2024-01-01T00:00:00+99:00' } },
      });
      expect(offset.status).toBe(400);
      expect(offset.body.message).toContain('keen.timestamp');

      const escape = await call('escape', 'POST', `${url(a.id, 'events/bad%zzname')}`, {
        key: a.write_key,
        body: { a: 1 },
      });
      expect(escape.status).toBe(400);
      expect(escape.body.error_code).toBe('InvalidRequestError');
      const escapeQuery = await call(
        'escape query',
        'GET',
        `${url(a.id, 'queries/count')}?api_key=${a.read_key}&event_collection=x%zz`,
      );
      expect(escapeQuery.status).toBe(400);
      const contents = new SqliteContents(server.dataDir);
      expect(contents.events(a.id).filter((e) => e.collection.includes('%'))).toEqual([]);
      contents.close();

      // A 10 MB filter: refused by the body limit, not evaluated. The server
      // answers 413 from the declared length and closes the socket; sending
      // the whole body races that close (EPIPE, or a reset that drops the
      // answer), so the client declares the real length and sends the start.
      const huge = Array.from({ length: 1_200_000 }, (_, i) => `v${i}`);
      const bigBody = JSON.stringify({
        event_collection: 'atk',
        filters: [{ property_name: 'ok', operator: 'in', property_value: huge }],
      });
      expect(Buffer.byteLength(bigBody)).toBeGreaterThan(10 * 1024 * 1024);
      const big = await declaredSizeRequest(
        'POST',
        url(a.id, 'queries/count'),
        a.read_key,
        Buffer.byteLength(bigBody),
        bigBody.slice(0, 64 * 1024),
      );
      expect([400, 413]).toContain(big.status);
      expect(typeof big.body.error_code).toBe('string');
    });
  });

  describe('a delete never removes more than it names', () => {
    it('refuses filters sent in a body or under an unknown name, deleting nothing; the query string still narrows', async () => {
      const write = await call('del write', 'POST', url(a.id, 'events'), {
        key: a.write_key,
        body: { narrow: [{ n: 1 }, { n: 2 }, { n: 3 }] },
      });
      expect(write.status).toBe(200);
      const onlyOne = [{ property_name: 'n', operator: 'eq', property_value: 1 }];
      const count = async () =>
        (
          await call(
            'del count',
            'GET',
            `${url(a.id, 'queries/count')}?api_key=${a.read_key}&event_collection=narrow`,
          )
        ).body;

      for (const type of ['application/json', 'text/plain']) {
        const inBody = await call('del body', 'DELETE', url(a.id, 'events/narrow'), {
          key: a.master_key,
          raw: JSON.stringify({ filters: onlyOne }),
          headers: { 'content-type': type },
        });
        expect(inBody.status).toBe(400);
        expect(inBody.body.error_code).toBe('InvalidParameterError');
        expect(inBody.body.message).toContain('query string');
      }
      const arrayBody = await call('del array', 'DELETE', url(a.id, 'events/narrow'), {
        key: a.master_key,
        body: [],
      });
      expect(arrayBody.status).toBe(400);
      const misspelt = await call(
        'del typo',
        'DELETE',
        `${url(a.id, 'events/narrow')}?filter=${encodeURIComponent(JSON.stringify(onlyOne))}`,
        {
          key: a.master_key,
        },
      );
      expect(misspelt.status).toBe(400);
      expect(misspelt.body.message).toContain('"filter"');
      expect(await count()).toEqual({ result: 3 });

      const narrowed = await call(
        'del query',
        'DELETE',
        `${url(a.id, 'events/narrow')}?filters=${encodeURIComponent(JSON.stringify(onlyOne))}`,
        {
          key: a.master_key,
          body: {},
        },
      );
      expect(narrowed.status).toBe(204);
      expect(await count()).toEqual({ result: 2 });
    });
  });

  describe('multi_analysis size', () => {
    it('refuses more than 100 labels with a 400 naming the limit', async () => {
      const analyses = Object.fromEntries(
        Array.from({ length: 101 }, (_, i) => [`l${i}`, { analysis_type: 'count' }]),
      );
      const res = await call('labels', 'POST', url(a.id, 'queries/multi_analysis'), {
        key: a.read_key,
        body: { event_collection: 'atk', timeframe: 'this_10_years', interval: 'daily', analyses },
      });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('QueryLimitExceededError');
      expect(res.body.message).toContain('limit of 100');
    });
  });

  describe('the edges of HTTP', () => {
    it('answers a trickled body with 408, an over-long name with 414 and oversized headers with 431, all Keen-shaped', async () => {
      const timeout = await rawExchange(
        server.port,
        `POST /3.0/projects/${a.id}/events/slow HTTP/1.1\r\nHost: x\r\nAuthorization: ${a.write_key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      );
      expect(timeout.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
      expect(JSON.parse(timeout.split('\r\n\r\n')[1])).toMatchObject({
        error_code: 'RequestTimeoutError',
      });

      const longName = await call('414', 'POST', url(a.id, `events/${'n'.repeat(5000)}`), {
        key: a.write_key,
        body: { a: 1 },
      });
      expect(longName.status).toBe(414);
      expect(longName.body.error_code).toBe('RequestUriTooLongError');
      const notTooLong = await call('257', 'POST', url(a.id, `events/${'n'.repeat(257)}`), {
        key: a.write_key,
        body: { a: 1 },
      });
      expect(notTooLong.status).toBe(400);
      expect(notTooLong.body.error_code).toBe('InvalidCollectionNameError');

      const headers = await rawExchange(
        server.port,
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expect(headers.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(JSON.parse(headers.split('\r\n\r\n')[1])).toMatchObject({
        error_code: 'RequestHeaderFieldsTooLargeError',
      });
    });

    it('logs a client that aborts a half-sent body at info, without a stack', async () => {
      const marker = `aborted-${Date.now()}`;
      await new Promise<void>((resolve) => {
        const socket = net.connect(server.port, '127.0.0.1', () => {
          socket.write(
            `POST /3.0/projects/${a.id}/events/abort HTTP/1.1\r\nHost: x\r\nX-Request-ID: ${marker}\r\nAuthorization: ${a.write_key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`,
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 200);
        });
      });
      await new Promise((r) => setTimeout(r, 300));
      const lines = server.output.split('\n').filter((l) => l.includes(marker));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const record = JSON.parse(line);
        expect(record.level).toBeLessThanOrEqual(30);
        expect(record.err?.stack).toBeUndefined();
      }
      expect(lines.some((l) => l.includes('client aborted the request'))).toBe(true);
    });

    it('echoes only a plain client request id, never markup', async () => {
      const evil = await call('evil id', 'GET', url(a.id, 'events/x'), {
        headers: { 'x-request-id': '<script>alert(1)</script>' },
      });
      expect(evil.status).toBe(401);
      expect(evil.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(server.output).not.toContain('<script>');
      const plain = await call('plain id', 'GET', url(a.id, 'events/x'), {
        headers: { 'x-request-id': 'trace-42' },
      });
      expect(plain.body.request_id).toBe('trace-42');
      // The failed request is logged once, by its id, when answered.
      await new Promise((r) => setTimeout(r, 100));
      const logged = server.output
        .split('\n')
        .filter((l) => l.includes('"trace-42"'))
        .map((l) => JSON.parse(l));
      expect(logged).toEqual([
        expect.objectContaining({
          level: 40,
          msg: 'request completed',
          req: expect.objectContaining({ id: 'trace-42', method: 'GET' }),
          res: { status_code: 401 },
        }),
      ]);
    });

    it('puts security headers on data and docs, and preflights DELETE with the SDK headers', async () => {
      const data = await call(
        'headers',
        'GET',
        url(a.id, `queries/count?api_key=${a.read_key}&event_collection=atk`),
      );
      expect(data.headers.get('x-content-type-options')).toBe('nosniff');
      expect(data.headers.get('cache-control')).toBe('no-store');
      expect(data.headers.get('x-frame-options')).toBe('DENY');
      const docs = await call('docs', 'GET', `${server.url}/docs`);
      expect(docs.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(docs.headers.get('x-frame-options')).toBe('DENY');
      const preflight = await call('preflight', 'OPTIONS', url(a.id, 'events/x'), {
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'DELETE',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers.get('access-control-allow-methods')).toContain('DELETE');
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
        'authorization',
      );
    });

    it('never writes a key to the log, even for failing requests with ?api_key=', async () => {
      for (const key of [a.read_key, a.master_key, b.write_key]) {
        await call(
          'key in url',
          'GET',
          `${url(a.id, 'queries/nope')}?api_key=${key}&event_collection=x`,
        );
        await call('key in url', 'GET', `${url(b.id, 'events/bad%zz')}?api_key=${key}`);
        await call('key in header', 'POST', url(a.id, 'events/x'), {
          key,
          raw: '{',
          headers: { 'content-type': 'application/json' },
        });
      }
      await new Promise((r) => setTimeout(r, 200));
      const logged = server.output;
      for (const key of [
        a.write_key,
        a.read_key,
        a.master_key,
        b.write_key,
        b.read_key,
        b.master_key,
      ]) {
        expect(logged).not.toContain(key);
      }
      expect(logged).toContain('api_key=[redacted]');

      // The query-string parser decodes the parameter's name and value, so a
      // percent-encoded key authenticates: its log line must not carry it either.
      const encode = (text: string) =>
        [...text].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
      const encoded = await call(
        'encoded key',
        'GET',
        `${url(a.id, 'queries/count')}?ap%69_key=${encode(a.read_key)}&timeframe=soonish`,
      );
      expect(encoded.status).toBe(400);
      await new Promise((r) => setTimeout(r, 200));
      expect(server.output).not.toContain(encode(a.read_key));
    });
  });
});

/** Sends raw bytes and returns everything the server wrote before closing. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (d) => (out += d));
    socket.on('close', () => resolve(out));
    socket.on('error', (e) => (out ? resolve(out) : reject(e)));
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}
