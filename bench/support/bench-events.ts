import { CollectionEvent } from '@app/events';

export const DAY_MS = 86_400_000;
/** Generated collections start here (UTC midnight, so day buckets line up). */
export const T0 = Date.UTC(2024, 0, 1);
export const COUNTRIES = ['FR', 'US', 'DE', 'JP', 'BR'];

/**
 * Event `i` of `total`, spread evenly over `spanMs` from T0, in collection `c`.
 * `price` is a multiple of 0.25: such sums are exact in binary floating point
 * whatever the order of addition, so a store's native SUM and the engine's
 * compare with `===`. `idPrefix` keeps ids unique across runs sharing a store.
 */
export function benchEvent(
  i: number,
  total: number,
  spanMs: number,
  idPrefix = '',
): CollectionEvent {
  const timestamp = T0 + Math.floor((i / total) * spanMs);
  const id = `${idPrefix}${i.toString(16).padStart(24, '0')}`;
  const iso = new Date(timestamp).toISOString();
  return {
    collection: 'c',
    id,
    timestamp,
    event: {
      price: (i % 1000) / 4,
      country: COUNTRIES[i % 5],
      user: { id: `u${i % 5000}`, premium: i % 7 === 0 },
      keen: { id, timestamp: iso, created_at: iso },
    },
  };
}

export function benchEvents(total: number, spanMs: number, idPrefix = ''): CollectionEvent[] {
  return Array.from({ length: total }, (_, i) => benchEvent(i, total, spanMs, idPrefix));
}
