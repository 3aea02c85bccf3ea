import { CollectionEvent, JsonObject, TallyError, prepareEvent } from '@app/events';
import { EventAddons } from './apply-addons';
import { IpLocator, IpPlace } from './ip-locator.port';
import { ReferrerTable } from './referrer-table';

/** An in-memory locator: which families were loaded, one known place. */
class FakeLocator implements IpLocator {
  readonly loads: Array<4 | 6> = [];
  private readonly loaded = new Set<4 | 6>();
  async load(family: 4 | 6) {
    this.loads.push(family);
    this.loaded.add(family);
  }
  isLoaded(family: 4 | 6) {
    return this.loaded.has(family);
  }
  lookup(ip: string): IpPlace | null {
    if (!this.loaded.has(ip.includes(':') ? 6 : 4)) throw new Error('not loaded');
    return ip === '8.8.8.8'
      ? { city: 'Mountain View', region: 'California', countryCode: 'US', postalCode: null, latitude: 37.422, longitude: -122.085 }
      : null;
  }
}

const origin = { projectId: 'p', requestId: 'r', receivedAt: Date.parse('2024-03-09T17:45:30.250Z') };
const options = { idSecret: 's', maxEventBytes: 4096 };
const client = { ip: '8.8.8.8', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1' };

function setup() {
  const locator = new FakeLocator();
  const referrers = new ReferrerTable();
  return { locator, referrers, addons: new EventAddons(locator, referrers) };
}

async function enrich(addons: EventAddons, body: JsonObject, maxEventBytes = options.maxEventBytes): Promise<CollectionEvent> {
  await addons.load([body], client);
  return addons.apply(prepareEvent('c', body, 0, origin, options), client, maxEventBytes);
}

function refusal(fn: () => unknown): TallyError {
  try {
    fn();
  } catch (error) {
    return error as TallyError;
  }
  throw new Error('expected a refusal');
}

describe('EventAddons (keen.addons on the write path)', () => {
  it('runs every add-on, writes each output at its path and leaves keen.addons out', async () => {
    const { addons } = setup();
    const body: JsonObject = {
      ip_address: '${keen.ip}',
      user_agent: '${keen.user_agent}',
      page: { url: 'https://shop.example.com/p/1?ref=mail#reviews', referrer: 'https://www.google.com/search?q=red+shoes' },
      keen: {
        addons: [
          { name: 'keen:ip_to_geo', input: { ip: 'ip_address' }, output: 'geo' },
          { name: 'keen:ua_parser', input: { ua_string: 'user_agent' }, output: 'tech.ua' },
          { name: 'keen:url_parser', input: { url: 'page.url' }, output: 'page.parsed' },
          { name: 'keen:referrer_parser', input: { referrer_url: 'page.referrer', page_url: 'page.url' }, output: 'referrer' },
          { name: 'keen:date_time_parser', input: { date_time: 'keen.timestamp' }, output: 'time' },
        ],
      },
    };
    const sent = JSON.stringify(body);
    const stored = (await enrich(addons, body)).event;
    expect(stored.ip_address).toBe('8.8.8.8');
    expect(stored.user_agent).toBe(client.userAgent);
    expect(stored.geo).toEqual({
      city: 'Mountain View',
      province: 'California',
      country: 'United States',
      continent: 'North America',
      postal_code: null,
      coordinates: [-122.085, 37.422],
    });
    expect(stored.tech).toEqual({ ua: expect.objectContaining({ device: { family: 'iPhone' } }) });
    expect((stored.page as JsonObject).parsed).toEqual({
      protocol: 'https',
      domain: 'shop.example.com',
      path: '/p/1',
      anchor: 'reviews',
      query_string: { ref: 'mail' },
    });
    expect((stored.page as JsonObject).url).toBe('https://shop.example.com/p/1?ref=mail#reviews');
    expect(stored.referrer).toEqual({ medium: 'SEARCH', source: 'Google', term: 'red shoes' });
    expect(stored.time).toMatchObject({ year: 2024, month: 3, day_of_week_string: 'Saturday', millisecond: 250 });
    expect(Object.keys(stored.keen as JsonObject).sort()).toEqual(['created_at', 'id', 'timestamp']);
    // The request body is left as the client sent it (the id derives from it).
    expect(JSON.stringify(body)).toBe(sent);
  });

  it('loads only what a request needs: the family of each address, the referrer list for referrer_parser', async () => {
    const { addons, locator, referrers } = setup();
    await addons.load([{ a: 1 }, { keen: { addons: [{ name: 'keen:url_parser', input: { url: 'u' }, output: 'o' }] } }], client);
    expect(locator.loads).toEqual([]);
    expect(referrers.isLoaded()).toBe(false);
    await addons.load(
      [
        { ip: '${keen.ip}', keen: { addons: [{ name: 'keen:ip_to_geo', input: { ip: 'ip' }, output: 'g' }] } },
        { n: { ip: '2001:db8::1' }, keen: { addons: [{ name: 'keen:ip_to_geo', input: { ip: 'n.ip' }, output: 'g' }] } },
        { keen: { addons: [{ name: 'keen:referrer_parser', input: {}, output: 'r' }] } },
      ],
      client,
    );
    expect(locator.loads.sort()).toEqual([4, 6]);
    expect(referrers.isLoaded()).toBe(true);
  });

  it('resolves placeholders at any depth without add-ons, and leaves other events untouched', async () => {
    const { addons } = setup();
    const stored = await enrich(addons, { visitor: { ip: '${keen.ip}', seen: ['${keen.user_agent}', 'x'] }, note: 'ip is ${keen.ip}' });
    expect(stored.event.visitor).toEqual({ ip: '8.8.8.8', seen: [client.userAgent, 'x'] });
    // Only a whole value is a placeholder.
    expect(stored.event.note).toBe('ip is ${keen.ip}');
    const plain = prepareEvent('c', { a: 1 }, 0, origin, options);
    expect(addons.apply(plain, client, 4096)).toBe(plain);
  });

  it('writes nothing for an input the event does not have or an address with no place', async () => {
    const { addons } = setup();
    const stored = await enrich(addons, {
      ip: '10.0.0.1',
      keen: {
        addons: [
          { name: 'keen:ip_to_geo', input: { ip: 'ip' }, output: 'geo' },
          { name: 'keen:url_parser', input: { url: 'missing.url' }, output: 'url' },
        ],
      },
    });
    expect(Object.keys(stored.event).sort()).toEqual(['ip', 'keen']);
  });

  it('refuses an output through a property that is not an object, and an enriched event over the size limit', async () => {
    const { addons } = setup();
    const crossing = { name: 'keen:url_parser', input: { url: 'u' }, output: 'u.parsed' };
    const body: JsonObject = { u: 'https://a.example/', keen: { addons: [crossing] } };
    await addons.load([body], client);
    const error = refusal(() => addons.apply(prepareEvent('c', body, 0, origin, options), client, 4096));
    expect(error.errorCode).toBe('InvalidAddonError');
    expect(error.message).toContain('keen.addons[0].output');

    const big: JsonObject = {
      u: `https://a.example/?k=${'x'.repeat(300)}`,
      keen: { addons: [{ name: 'keen:url_parser', input: { url: 'u' }, output: 'parsed' }] },
    };
    const prepared = prepareEvent('c', big, 0, origin, { ...options, maxEventBytes: 600 });
    const tooLarge = refusal(() => addons.apply(prepared, client, 600));
    expect(tooLarge.kind).toBe('too_large');
  });

  it('overwrites an existing value at the output path and creates missing levels', async () => {
    const { addons } = setup();
    const stored = await enrich(addons, {
      when: '2024-01-01T10:00:00+02:00',
      out: { old: 1 },
      keen: { addons: [{ name: 'keen:date_time_parser', input: { date_time: 'when' }, output: 'out.deep.parts' }] },
    });
    expect(stored.event.out).toEqual({ old: 1, deep: { parts: expect.objectContaining({ hour: 10, timezone_offset: 2 }) } });
  });
});
