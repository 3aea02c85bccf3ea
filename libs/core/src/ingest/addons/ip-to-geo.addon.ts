import { isIP } from 'node:net';
import { continents, countries } from 'countries-list';
import { JsonObject } from '@app/events';
import { IpLocator } from './ip-locator.port';

/** `::ffff:1.2.3.4` (how a dual-stack socket reports an IPv4 client) is looked up as 1.2.3.4. */
export function normalizeIp(value: string): string | null {
  const ip = value.trim();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  const plain = mapped ? mapped[1] : ip;
  return isIP(plain) ? plain : null;
}

/** The address family whose database a value needs, or null when it is no address. */
export function ipFamily(value: unknown): 4 | 6 | null {
  if (typeof value !== 'string') return null;
  const ip = normalizeIp(value);
  return ip === null ? null : (isIP(ip) as 4 | 6);
}

type CountryCode = keyof typeof countries;

/**
 * `keen:ip_to_geo`: `{city, province, country, continent, postal_code,
 * coordinates: [longitude, latitude]}`, names in English as Keen gives them
 * ("United States", "North America"). An address the database does not place
 * (private, reserved, malformed) adds nothing: there is no place to record.
 */
export function ipToGeo(locator: IpLocator, value: unknown): JsonObject | undefined {
  if (typeof value !== 'string') return undefined;
  const ip = normalizeIp(value);
  if (ip === null) return undefined;
  const place = locator.lookup(ip);
  if (!place) return undefined;
  const country =
    place.countryCode && Object.prototype.hasOwnProperty.call(countries, place.countryCode)
      ? countries[place.countryCode as CountryCode]
      : undefined;
  return {
    city: place.city,
    province: place.region,
    country: country?.name ?? place.countryCode,
    continent: country ? continents[country.continent] : null,
    postal_code: place.postalCode,
    coordinates:
      place.longitude !== null && place.latitude !== null ? [place.longitude, place.latitude] : null,
  };
}
