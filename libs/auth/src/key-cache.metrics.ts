import { Gauge } from 'prom-client';

/** What the gauge reads of a key cache. */
export interface KeyCacheClock {
  /** When the cache last loaded projects and keys successfully (epoch ms); 0 before. */
  refreshedAt(): number;
}

const caches = new Set<KeyCacheClock>();

/** Adds a running cache to the gauge; returns its removal. */
export function watchKeyCache(cache: KeyCacheClock): () => void {
  caches.add(cache);
  return () => caches.delete(cache);
}

/**
 * Age of the oldest loaded copy among `caches`, in seconds; NaN when none
 * runs or one never loaded (unknown, not "fresh").
 */
export function keyCacheAgeSeconds(clocks: Iterable<KeyCacheClock>, now: number): number {
  let oldest = Infinity;
  let any = false;
  for (const clock of clocks) {
    any = true;
    oldest = Math.min(oldest, clock.refreshedAt());
  }
  if (!any || oldest <= 0) return NaN;
  return Math.max(0, now - oldest) / 1000;
}

// Keys and projects are authorized from memory and reloaded every
// KEY_CACHE_REFRESH_MS. Well above that interval means the metadata store is
// not answering: new keys are not accepted and revoked keys keep working.
export const keyCacheAge = new Gauge({
  name: 'tally_key_cache_age_seconds',
  help: 'Seconds since the key cache last loaded projects and keys from the metadata store (NaN: never loaded).',
  collect() {
    this.set(keyCacheAgeSeconds(caches, Date.now()));
  },
});
