import { createHmac } from 'node:crypto';

export interface EventIdInput {
  projectId: string;
  collection: string;
  requestId: string;
  /** Edge start time of the request; omitted for client-chosen request ids. */
  requestStart?: number;
  index: number;
  /** The event's keen.timestamp in epoch ms: gives ids a time-ordered prefix. */
  timestamp: number;
}

/**
 * keen.id: 24 hex characters. The first 8 are the event's timestamp in
 * seconds (time-ordered, like a Mongo ObjectId); the last 16 are a keyed hash
 * of where the event came from. The same request replayed (same request id,
 * start time and position) yields the same ids, so idempotent stores drop the
 * copy; the server secret keeps clients from choosing ids that collide with
 * other clients' events.
 */
export function deriveEventId(secret: string, input: EventIdInput): string {
  const seconds = Math.min(Math.max(Math.floor(input.timestamp / 1000), 0), 0xffffffff);
  const digest = createHmac('sha256', secret)
    .update(
      `${input.projectId}\n${input.collection}\n${input.requestId}\n${input.requestStart ?? ''}\n${input.index}`,
    )
    .digest('hex');
  return seconds.toString(16).padStart(8, '0') + digest.slice(0, 16);
}
