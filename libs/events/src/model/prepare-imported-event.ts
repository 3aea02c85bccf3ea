import { CollectionEvent } from '../stored-event.types';
import { JsonObject } from '../json.types';
import { TallyError } from '../errors';
import { parseIsoTimestamp, toIso } from './timestamps';
import { validateEventShape } from './validate-event';
import { assertStoredSize } from './event-limits';

/** keen.id as deriveEventId makes it: 24 lowercase hex characters. */
export const EVENT_ID_FORMAT = /^[0-9a-f]{24}$/;

export interface ImportedEventOptions {
  maxEventBytes: number;
  /** keen.created_at of an event that has none (epoch ms; default now). */
  importedAt?: number;
}

/**
 * Validates an event read back from an export (one NDJSON line) with the
 * write path's checks (validateEventShape, the size limit) and keeps its
 * identity: keen.id must already be there in the format Tally derives, and
 * keen.timestamp must be an ISO-8601 date-time, so importing the same file
 * twice stores every event once. keen.created_at is kept when valid (set to
 * the import time when absent). Timestamps are written back in the canonical
 * form prepareEvent gives them, which an export already has.
 */
export function prepareImportedEvent(
  collection: string,
  body: unknown,
  options: ImportedEventOptions,
): CollectionEvent {
  validateEventShape(body);
  const keen = (body.keen ?? {}) as JsonObject;
  const id = keen.id;
  if (typeof id !== 'string' || !EVENT_ID_FORMAT.test(id)) {
    throw new TallyError(
      'invalid',
      'InvalidEventIdError',
      `"keen.id" must be 24 lowercase hex characters (as exported); got ${JSON.stringify(id ?? null)?.slice(0, 80)}.`,
    );
  }
  const timestamp = isoOrNaN(keen.timestamp);
  if (Number.isNaN(timestamp)) {
    throw new TallyError(
      'invalid',
      'InvalidPropertyValueError',
      '"keen.timestamp" must be an ISO-8601 date-time (as exported).',
    );
  }
  let createdAt = options.importedAt ?? Date.now();
  if (keen.created_at !== undefined) {
    createdAt = isoOrNaN(keen.created_at);
    if (Number.isNaN(createdAt)) {
      throw new TallyError(
        'invalid',
        'InvalidPropertyValueError',
        '"keen.created_at" must be an ISO-8601 date-time.',
      );
    }
  }
  const event: JsonObject = {
    ...body,
    keen: { ...keen, timestamp: toIso(timestamp), created_at: toIso(createdAt), id },
  };
  assertStoredSize(event, options.maxEventBytes);
  return { collection, id, timestamp, event };
}

function isoOrNaN(value: unknown): number {
  return typeof value === 'string' ? parseIsoTimestamp(value) : NaN;
}
