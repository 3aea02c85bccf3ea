import { DbipIpLocator } from './dbip-ip-locator';
import { ipFamily, ipToGeo, normalizeIp } from './ip-to-geo.addon';

/**
 * Against the real DB-IP City Lite database that ships in the npm package
 * (the version package.json pins): known public addresses and their places.
 */
describe('keen:ip_to_geo with the packaged DB-IP database', () => {
  const locator = new DbipIpLocator();

  beforeAll(async () => {
    await locator.load(4);
    await locator.load(6);
  });

  it('places public IPv4 addresses: city, province, country, continent, [lon, lat]', () => {
    expect(ipToGeo(locator, '8.8.8.8')).toEqual({
      city: 'Mountain View',
      province: 'California',
      country: 'United States',
      continent: 'North America',
      postal_code: null,
      coordinates: [-122.085, 37.422],
    });
    expect(ipToGeo(locator, '81.2.69.142')).toMatchObject({
      city: 'London',
      province: 'England',
      country: 'United Kingdom',
      continent: 'Europe',
    });
    expect(ipToGeo(locator, '1.1.1.1')).toMatchObject({
      city: 'Sydney',
      country: 'Australia',
      continent: 'Oceania',
    });
    // A dual-stack socket's form of an IPv4 peer is the same address.
    expect(ipToGeo(locator, '::ffff:8.8.8.8')).toEqual(ipToGeo(locator, '8.8.8.8'));
  });

  it('places IPv6 addresses from the IPv6 file', () => {
    expect(ipToGeo(locator, '2a00:1450:4001:80b::200e')).toMatchObject({
      city: 'Frankfurt am Main',
      province: 'Hesse',
      country: 'Germany',
      continent: 'Europe',
    });
  });

  it('adds nothing for private, reserved or malformed addresses', () => {
    for (const value of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '::1', 'not-an-ip', '', 42, null]) {
      expect(ipToGeo(locator, value)).toBeUndefined();
    }
  });

  it('names the address family a value needs', () => {
    expect(ipFamily('8.8.8.8')).toBe(4);
    expect(ipFamily('::ffff:8.8.8.8')).toBe(4);
    expect(ipFamily('2001:db8::1')).toBe(6);
    expect(ipFamily('${keen.ip}')).toBeNull();
    expect(ipFamily(7)).toBeNull();
    expect(normalizeIp(' 8.8.4.4 ')).toBe('8.8.4.4');
  });

  it('refuses to look up before the family is loaded (the write path loads first)', () => {
    const cold = new DbipIpLocator();
    expect(cold.isLoaded(4)).toBe(false);
    expect(() => cold.lookup('8.8.8.8')).toThrow('IPv4 database was not loaded');
  });

  it('answers a lookup in microseconds once loaded', () => {
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) locator.lookup(`81.2.${i % 250}.${i % 200}`);
    const perLookupMs = (performance.now() - start) / 20_000;
    expect(perLookupMs).toBeLessThan(0.1);
  });
});
