import { CollectionEvent, JsonObject, JsonValue, TallyError, assertStoredSize } from '@app/events';
import { ADDON_ERROR, AddonSpec, MAX_ADDONS_PER_EVENT, parseAddonSpecs } from './addon-spec';
import { BoundedCache } from './bounded-cache';
import { dateTimeParser } from './date-time-parser.addon';
import { DbipIpLocator } from './dbip-ip-locator';
import { isObject, PlaceholderValues, readPath, substitutePlaceholders, writePath } from './event-paths';
import { ipFamily, ipToGeo } from './ip-to-geo.addon';
import { IpLocator } from './ip-locator.port';
import { referrerParser } from './referrer-parser.addon';
import { ReferrerTable } from './referrer-table';
import { uaParser } from './ua-parser.addon';
import { urlParser } from './url-parser.addon';

/** The client of a write request as the ingest process saw it (libs/http request-origin.ts). */
export interface RequestClient {
  /** The client's address: the socket's peer, or what the trusted local proxy saw. */
  ip?: string;
  userAgent?: string;
}

function placeholders(client: RequestClient): PlaceholderValues {
  return { '${keen.ip}': client.ip, '${keen.user_agent}': client.userAgent };
}

/** An input's value with its placeholder resolved, as `apply` will read it. */
function inputValue(body: JsonObject, path: string, values: PlaceholderValues): JsonValue | undefined {
  const value = readPath(body, path);
  return typeof value === 'string' ? substitutePlaceholders(value, values) : value;
}

/**
 * Keen's data-enrichment add-ons (`keen.addons`), run on the write path before
 * an event is queued, so both deployments store the enriched event and the
 * schema counts its new properties like any others. Also resolves the
 * `${keen.ip}` and `${keen.user_agent}` placeholders, with or without add-ons.
 *
 * The lookups are synchronous and in memory; the data they need (the IP
 * database of an address family, the referrer list) is read once per process
 * by `load`, which the write path awaits before it prepares a request's events.
 */
export class EventAddons {
  private static instance: EventAddons | null = null;
  /** The two costly parses (tens of µs each), memoised by their input string. */
  private readonly userAgents = new BoundedCache<JsonObject | undefined>(2_000);
  private readonly places = new BoundedCache<JsonObject | undefined>(10_000);

  constructor(
    private readonly locator: IpLocator = new DbipIpLocator(),
    private readonly referrers: ReferrerTable = new ReferrerTable(),
  ) {}

  /** One per process: every write path shares the databases it has read. */
  static shared(): EventAddons {
    return (EventAddons.instance ??= new EventAddons());
  }

  /**
   * Reads whatever the add-ons of these (raw, not yet validated) events will
   * look up. A malformed declaration is skipped here: `apply` refuses it.
   */
  async load(bodies: readonly unknown[], client: RequestClient): Promise<void> {
    const values = placeholders(client);
    const families = new Set<4 | 6>();
    let referrers = false;
    for (const body of bodies) {
      if (!isObject(body) || !isObject(body.keen) || !Array.isArray(body.keen.addons)) continue;
      for (const addon of body.keen.addons.slice(0, MAX_ADDONS_PER_EVENT)) {
        if (!isObject(addon) || !isObject(addon.input)) continue;
        if (addon.name === 'keen:referrer_parser') referrers = true;
        if (addon.name === 'keen:ip_to_geo' && typeof addon.input.ip === 'string') {
          const family = ipFamily(inputValue(body, addon.input.ip, values));
          if (family !== null) families.add(family);
        }
      }
    }
    const pending: Promise<void>[] = [];
    for (const family of families) if (!this.locator.isLoaded(family)) pending.push(this.locator.load(family));
    if (referrers && !this.referrers.isLoaded()) pending.push(this.referrers.load());
    await Promise.all(pending);
  }

  /**
   * The event as it is stored: placeholders resolved, each add-on's output
   * written at its path, `keen.addons` left out (Keen does not record it). A
   * bad declaration, an output that would cross a non-object property, or an
   * enriched event over the size limit throws a TallyError (400/413) for this
   * event only.
   */
  apply(prepared: CollectionEvent, client: RequestClient, maxEventBytes: number): CollectionEvent {
    const keen = prepared.event.keen as JsonObject;
    const specs = parseAddonSpecs(keen.addons);
    const values = placeholders(client);
    const source = substitutePlaceholders(prepared.event, values);
    if (specs.length === 0 && source === prepared.event && keen.addons === undefined) return prepared;

    const { addons: _declared, ...storedKeen } = source.keen as JsonObject;
    const event: JsonObject = { ...source, keen: storedKeen };
    specs.forEach((spec, index) => {
      const output = this.run(spec, source, values);
      if (output === undefined) return;
      if (!writePath(event, spec.output, output)) {
        throw new TallyError(
          'invalid',
          ADDON_ERROR,
          `"keen.addons[${index}].output" is "${spec.output.slice(0, 80)}", but a property on that path holds a value that is not an object.`,
        );
      }
    });
    assertStoredSize(event, maxEventBytes);
    return { ...prepared, event };
  }

  private run(spec: AddonSpec, source: JsonObject, values: PlaceholderValues): JsonObject | undefined {
    const input = (key: string) => inputValue(source, spec.input[key], values);
    switch (spec.name) {
      case 'keen:ip_to_geo': {
        const ip = input('ip');
        return typeof ip === 'string' ? this.places.get(ip, () => ipToGeo(this.locator, ip)) : undefined;
      }
      case 'keen:ua_parser': {
        const ua = input('ua_string');
        return typeof ua === 'string' ? this.userAgents.get(ua, () => uaParser(ua)) : undefined;
      }
      case 'keen:url_parser':
        return urlParser(input('url'));
      case 'keen:referrer_parser':
        return referrerParser(this.referrers, input('referrer_url'), input('page_url'));
      case 'keen:date_time_parser':
        return dateTimeParser(input('date_time'));
    }
  }
}
