import { http, HttpResult } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

/**
 * The pixel/beacon write, GET …/events/:c?api_key=&data=<base64 JSON>&redirect=:
 * every part of the request is checked before the event is stored, so a
 * refused beacon stores nothing (a retry cannot duplicate it); `redirect` goes
 * only to the hosts BEACON_REDIRECT_HOSTS lists, and the Location header is
 * the URL's percent-encoded serialisation.
 */
describe('standalone: beacon writes and redirects', () => {
  const server = new StandaloneServer(undefined, {
    BEACON_REDIRECT_HOSTS: 'shop.example.com, *.example.org',
  });
  const closed = new StandaloneServer();
  let writeKey: string;

  const beaconUrl = (
    target: StandaloneServer,
    key: string,
    collection: string,
    data: string,
    redirect?: string,
  ) =>
    `${target.url}/3.0/projects/default/events/${encodeURIComponent(collection)}` +
    `?api_key=${key}&data=${encodeURIComponent(data)}` +
    (redirect === undefined ? '' : `&redirect=${encodeURIComponent(redirect)}`);
  const encode = (event: unknown) => Buffer.from(JSON.stringify(event)).toString('base64');
  const beacon = (event: unknown, redirect?: string, collection = 'beacons') =>
    http('GET', beaconUrl(server, writeKey, collection, encode(event), redirect));
  const stored = (target: StandaloneServer, collection: string) => {
    const contents = new SqliteContents(target.dataDir);
    try {
      return contents.events('default', collection).map((e) => e.event);
    } finally {
      contents.close();
    }
  };
  const expectRefused = (res: HttpResult, code: string, message: RegExp) => {
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      message: expect.stringMatching(message),
      error_code: code,
      request_id: expect.any(String),
    });
    expect(res.headers.get('location')).toBeNull();
  };

  beforeAll(async () => {
    await Promise.all([server.start(), closed.start()]);
    writeKey = server.keys!.write_key;
  });

  afterAll(async () => {
    await Promise.all([server.stop(), closed.stop()]);
    server.remove();
    closed.remove();
  });

  it('refuses a bad redirect with 400 and stores nothing', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/relative/path', /absolute http\(s\) URL/],
      ['javascript:alert(1)', /absolute http\(s\) URL/],
      ['ftp://shop.example.com/file', /absolute http\(s\) URL/],
      ['not a url', /absolute http\(s\) URL/],
      ['https://user:pw@shop.example.com/', /user name or password/],
    ];
    for (const [redirect, message] of cases) {
      expectRefused(await beacon({ case: redirect }, redirect), 'InvalidRedirectError', message);
    }
    expect(stored(server, 'beacons')).toEqual([]);
  });

  it('refuses CR, LF and U+2028 in the redirect with 400, not 500, and stores nothing', async () => {
    for (const redirect of [
      'https://shop.example.com/\r\nSet-Cookie: session=stolen',
      'https://shop.example.com/a\nb',
      'https://shop.example.com/a\u2028b',
      'https://shop.example.com/a\u2029b',
    ]) {
      expectRefused(
        await beacon({ case: redirect }, redirect),
        'InvalidRedirectError',
        /control character or line separator/,
      );
    }
    expect(stored(server, 'beacons')).toEqual([]);
  });

  it('is not an open redirect: hosts outside BEACON_REDIRECT_HOSTS are refused and nothing is stored', async () => {
    const cases: Array<[string, RegExp]> = [
      ['https://evil.com/', /"evil\.com" is not one this server redirects to/],
      ['https://shop.example.com.evil.com/', /"shop\.example\.com\.evil\.com" is not one/],
      ['https://evil.com\\@shop.example.com/', /"evil\.com" is not one/],
      ['https://shop.example.com@evil.com/', /user name or password/],
      // *.example.org allows subdomains only
      ['https://example.org/', /"example\.org" is not one this server redirects to/],
    ];
    for (const [redirect, message] of cases) {
      expectRefused(await beacon({ case: redirect }, redirect), 'InvalidRedirectError', message);
    }
    expect(stored(server, 'beacons')).toEqual([]);
  });

  it('checks the data and the collection before storing too, also with a good redirect', async () => {
    const good = 'https://shop.example.com/thanks';
    expectRefused(
      await http(
        'GET',
        beaconUrl(server, writeKey, 'beacons', Buffer.from('{nope').toString('base64'), good),
      ),
      'InvalidJsonError',
      /"data" parameter \(base64-decoded\) is not valid JSON/,
    );
    expectRefused(await beacon({ 'bad.name': 1 }, good), 'InvalidPropertyNameError', /bad\.name/);
    expectRefused(
      await beacon({ ok: 1 }, good, '_hidden'),
      'InvalidCollectionNameError',
      /collection/i,
    );
    expect(stored(server, 'beacons')).toEqual([]);
    expect(stored(server, '_hidden')).toEqual([]);
  });

  it('redirects to an allowed host with a percent-encoded Location and stores the event once', async () => {
    const event = { page: '/checkout', user: { id: 'u1', name: 'Zoë' }, items: [1, 2] };
    const res = await beacon(event, 'https://shop.example.com/merci/über?x=é ü&y=1#done');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(
      'https://shop.example.com/merci/%C3%BCber?x=%C3%A9%20%C3%BC&y=1#done',
    );
    expect(res.headers.get('location')).toMatch(/^[\x21-\x7e]+$/);

    const sub = await beacon({ page: '/sub' }, 'https://www.example.org/next');
    expect(sub.status).toBe(302);
    expect(sub.headers.get('location')).toBe('https://www.example.org/next');

    const rows = stored(server, 'beacons');
    expect(rows.map(({ keen: _keen, ...body }) => body)).toEqual([event, { page: '/sub' }]);
    expect(rows.every((r) => typeof (r.keen as { id?: unknown }).id === 'string')).toBe(true);
  });

  it('still answers the pixel without a redirect', async () => {
    const res = await beacon({ page: '/pixel' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(stored(server, 'beacons').map((e) => e.page)).toEqual(['/checkout', '/sub', '/pixel']);
  });

  it('refuses every redirect on a server that lists no redirect host (the default), storing nothing', async () => {
    const key = closed.keys!.write_key;
    const res = await http(
      'GET',
      beaconUrl(closed, key, 'beacons', encode({ page: '/a' }), 'https://shop.example.com/'),
    );
    expectRefused(res, 'InvalidRedirectError', /disabled on this server/);
    expect(stored(closed, 'beacons')).toEqual([]);
    const pixel = await http('GET', beaconUrl(closed, key, 'beacons', encode({ page: '/b' })));
    expect(pixel.status).toBe(200);
    expect(stored(closed, 'beacons').map((e) => e.page)).toEqual(['/b']);
  });
});
