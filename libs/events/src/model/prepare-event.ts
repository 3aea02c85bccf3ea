import { CollectionEvent } from '../stored-event.types';
import { JsonObject } from '../json.types';
import { TallyError } from '../errors';
import { deriveEventId } from './event-id';
import { deriveTokenEventId, uniquenessTokenOf } from './uniqueness-token';
import { parseIsoTimestamp, toIso } from './timestamps';
import { validateEventShape } from './validate-event';
import { assertStoredEventSize } from './event-limits';

/** Where a write request came from; the same for every event in it. */
export interface RequestOrigin {
  projectId: string;
  requestId: string;
  /** Set when the request id and start time come from the trusted edge (or a replay). */
  requestStart?: number;
  /** The request id is the client's own `x-request-id` (no trusted edge time with it). */
  clientChosenId?: boolean;
  /** When this process received the request (epoch ms). */
  receivedAt: number;
}

export interface PrepareOptions {
  idSecret: string;
  maxEventBytes: number;
}

/**
 * Validates one event and fills in the reserved keen fields: timestamp
 * (client's, else the request's start), created_at (receipt) and the
 * deterministic id. The input object is not modified.
 */
export function prepareEvent(
  collection: string,
  body: unknown,
  index: number,
  origin: RequestOrigin,
  options: PrepareOptions,
): CollectionEvent {
  validateEventShape(body);
  const clientKeen = (body.keen ?? {}) as JsonObject;
  let timestamp = origin.requestStart ?? origin.receivedAt;
  const clientTimestamp =
    typeof clientKeen.timestamp === 'string' ? clientKeen.timestamp : undefined;
  if (clientTimestamp !== undefined) {
    timestamp = parseIsoTimestamp(clientTimestamp);
    if (Number.isNaN(timestamp)) {
      throw new TallyError(
        'invalid',
        'InvalidPropertyValueError',
        `"keen.timestamp" is not an ISO-8601 date-time: "${clientTimestamp.slice(0, 80)}".`,
      );
    }
  }
  // An event with a uniqueness token is named by the token alone (see
  // uniqueness-token.ts): the store then keeps one event per token.
  const token = uniquenessTokenOf(clientKeen);
  const content = JSON.stringify(body);
  const id =
    token !== undefined
      ? deriveTokenEventId(options.idSecret, { projectId: origin.projectId, collection, token })
      : deriveEventId(options.idSecret, {
          projectId: origin.projectId,
          collection,
          requestId: origin.requestId,
          // A client's own id is its idempotency key: the edge time of one attempt
          // must not make its retry's ids differ.
          requestStart: origin.clientChosenId ? undefined : origin.requestStart,
          index,
          content,
          timestamp,
          // A client's retry of an event without its own timestamp arrives at another
          // receipt time; its id must not depend on it, or the retry is stored twice.
          timeOrdered: !(origin.clientChosenId && clientTimestamp === undefined),
        });
  const keen: JsonObject = {
    ...clientKeen,
    timestamp: toIso(timestamp),
    created_at: toIso(origin.receivedAt),
    id,
  };
  assertStoredEventSize(body, content, JSON.stringify(keen), options.maxEventBytes);
  const event: JsonObject = { ...body, keen };
  return { collection, id, timestamp, event };
}
