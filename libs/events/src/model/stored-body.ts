import { JsonObject } from '../json.types';
import { StoredEvent } from '../stored-event.types';
import { parseCanonicalIso, parseIsoTimestamp } from './timestamps';

/**
 * The StoredEvent of a decoded stored body, from the body alone. Every body a
 * store holds was made by prepareEvent or prepareImportedEvent, which set
 * `keen.id` to the event's id and `keen.timestamp` to toIso() of its
 * timestamp, and no rewrite touches `keen` (property deletes refuse it). So a
 * scan can read the body column only, instead of also shipping and decoding
 * the id and timestamp columns beside it: on Cassandra those were a fifth of
 * a scan's client CPU (docs/benchmarks-split.md).
 * Undefined for a body without them, which Tally did not write: the caller
 * reports it where it knows which row that is (a guess would be wrong data).
 */
export function storedEventOfBody(event: JsonObject): StoredEvent | undefined {
  const keen = event.keen;
  if (keen !== null && typeof keen === 'object' && !Array.isArray(keen)) {
    const { id, timestamp } = keen;
    if (typeof id === 'string' && typeof timestamp === 'string') {
      // Stored as toIso() spells it; the general parser for anything else.
      let ms = parseCanonicalIso(timestamp);
      if (Number.isNaN(ms)) ms = parseIsoTimestamp(timestamp);
      if (!Number.isNaN(ms)) return { id, timestamp: ms, event };
    }
  }
  return undefined;
}
