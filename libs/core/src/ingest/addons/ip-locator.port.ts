/** What the database knows of an address's place, in the database's own terms. */
export interface IpPlace {
  city: string | null;
  /** First-level subdivision (a state, a province, a region). */
  region: string | null;
  /** ISO 3166-1 alpha-2. */
  countryCode: string | null;
  postalCode: string | null;
  latitude: number | null;
  longitude: number | null;
}

/**
 * The IP-to-place lookup `keen:ip_to_geo` uses. `lookup` is synchronous and
 * in memory (it runs per event on the ingest event loop); the database of an
 * address family is read once, by `load`, before the first lookup needs it.
 */
export interface IpLocator {
  /** Reads the database of this address family; later calls share the first read. */
  load(family: 4 | 6): Promise<void>;
  isLoaded(family: 4 | 6): boolean;
  /** null: not a routable address the database places (private, reserved, unknown). */
  lookup(ip: string): IpPlace | null;
}
