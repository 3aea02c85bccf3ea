import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1';

/** The five add-ons as Keen's web auto-collector declares them. */
const ADDONS = [
  { name: 'keen:ip_to_geo', input: { ip: 'ip_address' }, output: 'ip_geo_info' },
  { name: 'keen:ua_parser', input: { ua_string: 'user_agent' }, output: 'parsed_user_agent' },
  { name: 'keen:url_parser', input: { url: 'page.url' }, output: 'page.info' },
  {
    name: 'keen:referrer_parser',
    input: { referrer_url: 'referrer.url', page_url: 'page.url' },
    output: 'referrer.info',
  },
  { name: 'keen:date_time_parser', input: { date_time: 'keen.timestamp' }, output: 'local_time' },
];

const pageview = (marker: string, referrer: string) => ({
  marker,
  ip_address: '${keen.ip}',
  user_agent: '${keen.user_agent}',
  page: { url: 'https://shop.example.com/products/42?utm_source=newsletter&color=red#reviews' },
  referrer: { url: referrer },
  keen: { timestamp: '2024-03-09T17:45:30.250Z', addons: ADDONS },
});

/**
 * keen.addons on the standalone server: the client's address comes through a
 * proxy header the server trusts (TRUST_PROXY=true, peer on loopback), each
 * add-on writes its output before the event is stored, extraction reads the
 * enriched events back and the schema lists their properties. A bad
 * declaration is a per-event error in a batch and a 400 for a single event.
 */
describe('standalone: data-enrichment add-ons', () => {
  const server = new StandaloneServer(undefined, { TRUST_PROXY: 'true' });

  beforeAll(() => server.start());
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const url = (rest: string) => `${server.url}/3.0/projects/default/${rest}`;
  const write = (rest: string, body: unknown, headers: Record<string, string> = {}) =>
    http('POST', url(rest), { body, key: server.keys!.write_key, headers });
  const extract = async (collection: string) => {
    const res = await http('GET', url(`queries/extraction?event_collection=${collection}`), {
      key: server.keys!.read_key,
    });
    expect(res.status).toBe(200);
    return res.body.result as Array<Record<string, any>>;
  };

  it('enriches every add-on with the known values, and the schema lists the enriched properties', async () => {
    const from = { 'x-real-ip': '8.8.8.8', 'user-agent': IPHONE };
    expect(
      (await write('events/pageviews', pageview('google', 'https://www.google.com/search?q=red+shoes'), from)).status,
    ).toBe(201);
    const batch = await write(
      'events',
      {
        pageviews: [
          pageview('internal', 'https://shop.example.com/cart'),
          { ...pageview('facebook', 'https://m.facebook.com/story.php?id=1'), ip_address: '81.2.69.142' },
        ],
      },
      { 'x-forwarded-for': '1.1.1.1', 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36' },
    );
    expect(batch.body).toEqual({ pageviews: [{ success: true }, { success: true }] });

    const events = Object.fromEntries((await extract('pageviews')).map((e) => [e.marker, e]));
    expect(Object.keys(events).sort()).toEqual(['facebook', 'google', 'internal']);
    const google = events.google;
    expect(google.ip_address).toBe('8.8.8.8');
    expect(google.user_agent).toBe(IPHONE);
    expect(google.ip_geo_info).toEqual({
      city: 'Mountain View',
      province: 'California',
      country: 'United States',
      continent: 'North America',
      postal_code: null,
      coordinates: [-122.085, 37.422],
    });
    expect(google.parsed_user_agent).toEqual({
      browser: { family: 'Mobile Safari', major: '17', minor: '1', patch: '2' },
      os: { family: 'iOS', major: '17', minor: '1', patch: '2', patch_minor: null },
      device: { family: 'iPhone' },
    });
    expect(google.page.info).toEqual({
      protocol: 'https',
      domain: 'shop.example.com',
      path: '/products/42',
      anchor: 'reviews',
      query_string: { utm_source: 'newsletter', color: 'red' },
    });
    expect(google.referrer).toEqual({
      url: 'https://www.google.com/search?q=red+shoes',
      info: { medium: 'SEARCH', source: 'Google', term: 'red shoes' },
    });
    expect(google.local_time).toEqual({
      millisecond: 250,
      second: 30,
      minute: 45,
      hour: 17,
      day_of_week: 6,
      day_of_week_string: 'Saturday',
      day_of_month: 9,
      week: 10,
      month: 3,
      year: 2024,
      timezone_offset: 0,
    });
    // keen.addons is not recorded.
    expect(Object.keys(google.keen).sort()).toEqual(['created_at', 'id', 'timestamp']);

    // The batch's client came through X-Forwarded-For; an event's own address wins over the placeholder.
    expect(events.internal.ip_address).toBe('1.1.1.1');
    expect(events.internal.ip_geo_info).toMatchObject({ city: 'Sydney', country: 'Australia', continent: 'Oceania' });
    expect(events.internal.parsed_user_agent).toMatchObject({
      browser: { family: 'Chrome', major: '120' },
      os: { family: 'Mac OS X', major: '10', minor: '15', patch: '7' },
      device: { family: 'Other' },
    });
    expect(events.internal.referrer.info).toEqual({ medium: 'INTERNAL', source: null, term: null });
    expect(events.facebook.ip_geo_info).toMatchObject({ city: 'London', country: 'United Kingdom', continent: 'Europe' });
    expect(events.facebook.referrer.info).toEqual({ medium: 'SOCIAL', source: 'Facebook', term: null });

    const schema = await http('GET', url('events/pageviews'), { key: server.keys!.read_key });
    expect(schema.status).toBe(200);
    expect(schema.body.properties).toMatchObject({
      'ip_geo_info.city': 'string',
      'ip_geo_info.country': 'string',
      'ip_geo_info.continent': 'string',
      'ip_geo_info.coordinates': 'list',
      'parsed_user_agent.browser.family': 'string',
      'parsed_user_agent.os.family': 'string',
      'parsed_user_agent.device.family': 'string',
      'page.info.domain': 'string',
      'page.info.query_string.utm_source': 'string',
      'referrer.info.medium': 'string',
      'local_time.day_of_week_string': 'string',
      'local_time.hour': 'num',
    });
    expect(Object.keys(schema.body.properties).filter((p) => p.startsWith('keen.addons'))).toEqual([]);
    const contents = new SqliteContents(server.dataDir);
    try {
      expect(contents.counters('default')).toEqual(contents.recount('default'));
    } finally {
      contents.close();
    }
  });

  it('answers a bad declaration per event in a batch and 400 for a single event, storing none of them', async () => {
    const bad = {
      unknown: { name: 'keen:weather', input: { city: 'c' }, output: 'w' },
      missing: { name: 'keen:referrer_parser', input: { referrer_url: 'r' }, output: 'o' },
      reserved: { name: 'keen:url_parser', input: { url: 'u' }, output: 'keen.location' },
    };
    const events = [
      { marker: 'ok', u: 'https://a.example/x', keen: { addons: [{ name: 'keen:url_parser', input: { url: 'u' }, output: 'parsed' }] } },
      { marker: 'unknown', keen: { addons: [bad.unknown] } },
      { marker: 'missing', keen: { addons: [bad.missing] } },
      { marker: 'reserved', keen: { addons: [bad.reserved] } },
      { marker: 'many', keen: { addons: Array.from({ length: 11 }, () => ADDONS[2]) } },
    ];
    const res = await write('events', { checks: events });
    expect(res.status).toBe(200);
    const slots = res.body.checks as Array<Record<string, any>>;
    expect(slots[0]).toEqual({ success: true });
    for (const [i, fragment] of [
      [1, '"keen:weather"'],
      [2, 'input.page_url" is missing'],
      [3, 'keen namespace is reserved'],
      [4, 'at most 10'],
    ] as const) {
      expect(slots[i]).toEqual({
        success: false,
        error: { name: 'InvalidAddonError', description: expect.stringContaining(fragment) },
      });
    }

    const single = await write('events/checks', events[1]);
    expect(single.status).toBe(400);
    expect(single.body).toMatchObject({ error_code: 'InvalidAddonError', message: expect.stringContaining('keen.addons[0].name') });

    const stored = await extract('checks');
    expect(stored.map((e) => e.marker)).toEqual(['ok']);
    expect(stored[0].parsed).toEqual({ protocol: 'https', domain: 'a.example', path: '/x' });
  });

  it('enriches a beacon write (GET with data=) with the address and user agent of its request', async () => {
    const event = {
      marker: 'beacon',
      ip_address: '${keen.ip}',
      user_agent: '${keen.user_agent}',
      keen: { addons: [ADDONS[0], ADDONS[1]] },
    };
    const data = Buffer.from(JSON.stringify(event)).toString('base64');
    const res = await http(
      'GET',
      url(`events/beacons?api_key=${server.keys!.write_key}&data=${encodeURIComponent(data)}`),
      { headers: { 'x-real-ip': '8.8.8.8', 'user-agent': IPHONE } },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    const [stored] = await extract('beacons');
    expect(stored).toMatchObject({
      marker: 'beacon',
      ip_address: '8.8.8.8',
      user_agent: IPHONE,
      ip_geo_info: { city: 'Mountain View', country: 'United States' },
      parsed_user_agent: { device: { family: 'iPhone' }, os: { family: 'iOS' } },
    });
    expect(Object.keys(stored.keen).sort()).toEqual(['created_at', 'id', 'timestamp']);
  });
});
