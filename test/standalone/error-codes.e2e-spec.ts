import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { http, HttpResult } from '../support/http';
import { StandaloneServer } from '../support/standalone-server';

/**
 * The error table of docs/keen-compatibility.md, checked: every row whose last
 * column says "error-codes" is provoked here against real standalone servers
 * and must answer that status and error_code; every other row must name a
 * spec that holds the code. Three servers, each with the limits its codes need.
 */
const ROOT = path.resolve(__dirname, '../..');

interface Row {
  code: string;
  status: number;
  provenBy: string;
}

function errorTable(): Row[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/keen-compatibility.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Error codes'));
  return section
    .split('\n')
    .map((line) => /^\| `(\w+)` \| (\d{3}) \| .* \| (.+) \|$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ code: m[1], status: Number(m[2]), provenBy: m[3].trim() }));
}

/** A raw HTTP exchange, for what fetch will not send (a half body, oversized headers). */
function rawExchange(port: number, head: string, body: string, waitMs: number): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${waitMs} ms`));
    }, waitMs);
    socket.on('data', (d) => (data += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const json = data.slice(data.indexOf('\r\n\r\n') + 4);
      let code = '';
      try {
        code = JSON.parse(json).error_code;
      } catch {
        code = json.slice(0, 100);
      }
      resolve({ status, code });
    });
    socket.write(head + body);
  });
}

describe('error codes: every code of the table, with its status', () => {
  const main = new StandaloneServer(undefined, {
    REQUEST_TIMEOUT_MS: '1000',
    MAX_REQUEST_BYTES: String(64 * 1024),
    MAX_EVENT_BYTES: '4096',
    MAX_BATCH_EVENTS: '20',
    SCHEMA_RECOUNT_MAX_EVENTS: '2',
    DELETE_RATE_PER_MINUTE: '3',
  });
  const limited = new StandaloneServer(undefined, {
    INGEST_EVENTS_PER_SECOND: '10',
    INGEST_BURST_SECONDS: '1',
    MAX_BATCH_EVENTS: '10',
  });
  // The reference engine checks its deadline between pages of 2000 events; the
  // columnar path would answer this small median before any check.
  const small = new StandaloneServer(undefined, {
    SQLITE_MAX_BYTES: String(2 * 1024 * 1024),
    QUERY_DEADLINE_MS: '1',
    QUERY_COLUMNAR: 'false',
  });
  const seen = new Map<string, number>();

  beforeAll(async () => {
    await Promise.all([main.start(), limited.start(), small.start()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([main, limited, small].map((s) => s.stop()));
    for (const s of [main, limited, small]) s.remove();
  });

  /** Records what a request answered; the last test compares it with the table. */
  function saw(expected: string, res: HttpResult | { status: number; code: string }): void {
    const code = 'code' in res ? res.code : (res.body as { error_code?: string } | undefined)?.error_code;
    expect({ expected, code }).toEqual({ expected, code: expected });
    seen.set(expected, res.status);
  }

  const url = (s: StandaloneServer, rest: string) => `${s.url}/3.0/projects/default${rest}`;
  const write = (body: unknown) => http('POST', url(main, '/events/errs'), { body, key: main.keys!.write_key });
  const writeRaw = (raw: string, headers: Record<string, string> = {}) =>
    http('POST', url(main, '/events/errs'), { raw, key: main.keys!.write_key, headers });
  const query = (params: string) =>
    http('GET', url(main, `/queries/count?event_collection=errs&${params}`), { key: main.keys!.read_key });
  const filters = (f: unknown) => `filters=${encodeURIComponent(JSON.stringify(f))}`;

  it('event and batch errors (400)', async () => {
    saw('InvalidJsonError', await writeRaw('{"a": 1', { 'content-type': 'application/json' }));
    saw('InvalidEventError', await write('just a string'));
    saw('InvalidPropertyNameError', await write({ $price: 1 }));
    saw('InvalidPropertyValueError', await write({ keen: { timestamp: 5 } }));
    saw('NamespaceTypeError', await write({ keen: 'now' }));
    saw('InvalidKeenNamespaceProperty', await write({ keen: { flavour: 'x' } }));
    saw('ListsOfNonPrimitivesNotAllowedError', await write({ items: [{ sku: 'a' }] }));
    const nested = await write({ matrix: [[1, 2]] });
    expect(nested.body.error_code).toBe('ListsOfNonPrimitivesNotAllowedError');
    saw('InvalidAddonError', await write({ keen: { addons: [{ name: 'keen:nope', input: {}, output: 'x' }] } }));
    saw(
      'InvalidCollectionNameError',
      await http('POST', url(main, '/events/_hidden'), { body: { a: 1 }, key: main.keys!.write_key }),
    );
    saw('InvalidBatchError', await http('POST', url(main, '/events'), { body: [1, 2], key: main.keys!.write_key }));
    // In a batch, an event's own error is its entry in the 200 answer.
    const batch = await http('POST', url(main, '/events'), {
      body: { errs: [{ ok: 1 }, { items: [{ sku: 'a' }] }] },
      key: main.keys!.write_key,
    });
    expect(batch.status).toBe(200);
    expect(batch.body.errs[0]).toEqual({ success: true });
    expect(batch.body.errs[1]).toMatchObject({ success: false, error: { name: 'ListsOfNonPrimitivesNotAllowedError' } });
  });

  it('query errors (400)', async () => {
    saw('InvalidParameterError', await http('GET', url(main, '/queries/count'), { key: main.keys!.read_key }));
    saw('FilterDefinitionError', await query(filters([{ property_name: 'a', operator: 'nope', property_value: 1 }])));
    saw('TimeframeDefinitionError', await query('timeframe=soonish'));
    saw('InvalidTimezoneError', await query('timezone=Mars/Olympus_Mons'));
    saw('IntervalDefinitionError', await query('timeframe=this_10_days&interval=fortnightly'));
    saw('QueryLimitExceededError', await query('timeframe=this_10_years&interval=minutely'));
    saw('InvalidQueryError', await http('POST', url(main, '/queries/count'), { body: [1], key: main.keys!.read_key }));
  });

  it('request, beacon and recount errors (400)', async () => {
    saw('InvalidRequestError', await http('GET', url(main, '/events/bad%zzname'), { key: main.keys!.read_key }));
    const data = Buffer.from(JSON.stringify({ page: '/' })).toString('base64');
    saw(
      'InvalidRedirectError',
      await http(
        'GET',
        url(main, `/events/beacons?api_key=${main.keys!.write_key}&data=${data}&redirect=${encodeURIComponent('javascript:alert(1)')}`),
      ),
    );
    const three = await http('POST', url(main, '/events'), {
      body: { recount: [{ n: 1 }, { n: 2 }, { n: 3 }] },
      key: main.keys!.write_key,
    });
    expect(three.status).toBe(200);
    saw(
      'SchemaRecountTooLargeError',
      await http('POST', url(main, '/events/recount/schema/recalculate'), { key: main.keys!.master_key }),
    );
  });

  it('keys, access and paths (401, 403, 404, 405)', async () => {
    saw('InvalidApiKeyError', await http('GET', url(main, '/events')));
    saw('AdminOnlyEndpointError', await http('DELETE', url(main, '/events/errs'), { key: main.keys!.read_key }));
    saw(
      'InsufficientKeyPermissionsError',
      await http('GET', url(main, '/queries/count?event_collection=errs'), { key: main.keys!.write_key }),
    );
    saw(
      'KeenPropertyDeleteForbiddenError',
      await http('DELETE', url(main, '/events/errs/properties/keen.id'), { key: main.keys!.master_key }),
    );
    saw('ResourceNotFoundError', await http('GET', `${main.url}/3.0/nowhere`, { key: main.keys!.read_key }));
    saw('ProjectNotFoundError', await http('GET', `${main.url}/3.0/projects/no-such-project/events`, { key: main.keys!.read_key }));
    saw('MethodNotAllowedError', await http('PUT', url(main, '/events/errs'), { body: { a: 1 }, key: main.keys!.write_key }));
  });

  it('transport and size errors (408, 413, 414, 415, 431)', async () => {
    // Half a body, then silence: answered at REQUEST_TIMEOUT_MS (1 s here).
    saw(
      'RequestTimeoutError',
      await rawExchange(
        main.port,
        `POST /3.0/projects/default/events/errs HTTP/1.1\r\nHost: x\r\nAuthorization: ${main.keys!.write_key}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n',
        '{"a":',
        10_000,
      ),
    );
    saw('RequestTooLargeError', await write({ pad: 'x'.repeat(70 * 1024) }));
    saw('EventTooLargeError', await write({ pad: 'x'.repeat(5000) }));
    saw(
      'BatchTooLargeError',
      await http('POST', url(main, '/events'), {
        body: { errs: Array.from({ length: 21 }, (_, n) => ({ n })) },
        key: main.keys!.write_key,
      }),
    );
    saw('RequestUriTooLongError', await http('GET', url(main, `/events/${'c'.repeat(5000)}`), { key: main.keys!.read_key }));
    saw('UnsupportedMediaTypeError', await writeRaw('{"a":1}', { 'content-type': ';;;' }));
    saw(
      'RequestHeaderFieldsTooLargeError',
      await rawExchange(main.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`, '', 10_000),
    );
  });

  it('limits (429) and the delete rate (DELETE_RATE_PER_MINUTE=3)', async () => {
    const batch = { limited: Array.from({ length: 10 }, (_, n) => ({ n })) };
    const first = await http('POST', url(limited, '/events'), { body: batch, key: limited.keys!.write_key });
    expect(first.status).toBe(200);
    const second = await http('POST', url(limited, '/events'), { body: batch, key: limited.keys!.write_key });
    expect(second.headers.get('retry-after')).toMatch(/^\d+$/);
    saw('RateLimitExceededError', second);

    let answer: HttpResult | undefined;
    for (let i = 0; i < 6; i++) {
      answer = await http('DELETE', url(main, '/events/nothing_here'), { key: main.keys!.master_key });
      if (answer.status !== 204) break;
    }
    expect(answer!.headers.get('retry-after')).toMatch(/^\d+$/);
    saw('DeleteRateLimitExceededError', answer!);
  });

  it('a query past QUERY_DEADLINE_MS (504) and a database at SQLITE_MAX_BYTES (507)', async () => {
    const many = await http('POST', url(small, '/events'), {
      body: { many: Array.from({ length: 3000 }, (_, n) => ({ n })) },
      key: small.keys!.write_key,
    });
    expect(many.status).toBe(200);
    // Two pages of events for a median: past a 1 ms deadline at the first check between them.
    saw(
      'QueryTimeoutError',
      await http('GET', url(small, '/queries/median?event_collection=many&target_property=n'), { key: small.keys!.read_key }),
    );
    const pad = 'x'.repeat(20_000);
    let full: HttpResult | undefined;
    for (let round = 0; round < 10; round++) {
      full = await http('POST', url(small, '/events'), {
        body: { padded: Array.from({ length: 40 }, (_, n) => ({ n: round * 40 + n, pad })) },
        key: small.keys!.write_key,
      });
      if (full.status !== 200) break;
    }
    expect(full!.headers.get('retry-after')).toMatch(/^\d+$/);
    saw('InsufficientStorageError', full!);
  });

  it('answered each code with the status of the table, and every other row names a spec holding its code', () => {
    const rows = errorTable();
    expect(rows.length).toBeGreaterThan(40);
    const here = rows.filter((r) => r.provenBy === 'error-codes');
    expect(Object.fromEntries(here.map((r) => [r.code, seen.get(r.code)]))).toEqual(
      Object.fromEntries(here.map((r) => [r.code, r.status])),
    );
    // Nothing provoked here is missing from the table.
    expect([...seen.keys()].filter((code) => !here.some((r) => r.code === code))).toEqual([]);
    for (const row of rows.filter((r) => r.provenBy !== 'error-codes')) {
      const file = /^`([^`]+)`$/.exec(row.provenBy)?.[1];
      expect({ code: row.code, file }).toEqual({ code: row.code, file: expect.any(String) });
      expect({ code: row.code, holds: fs.readFileSync(path.join(ROOT, file!), 'utf8').includes(row.code) }).toEqual({
        code: row.code,
        holds: true,
      });
    }
  });
});
