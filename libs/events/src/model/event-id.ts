import { createHmac } from 'node:crypto';

export interface EventIdInput {
  projectId: string;
  collection: string;
  requestId: string;
  /** Edge start time of the request; omitted for client-chosen request ids. */
  requestStart?: number;
  index: number;
  /**
   * The event as the client sent it (JSON text), folded into the hash: two
   * different events under one reused request id get different ids, while a
   * retry of the same event (same text) gets the same id and is stored once.
   */
  content: string;
  /** The event's keen.timestamp in epoch ms: gives ids a time-ordered prefix. */
  timestamp: number;
  /**
   * False when `timestamp` is only this process's receipt time under a
   * client-chosen request id: a retry a second later must get the same id, so
   * the prefix then comes from the hash instead of the clock.
   */
  timeOrdered?: boolean;
}

/**
 * keen.id: 24 hex characters. The first 8 are the event's timestamp in
 * seconds (time-ordered, like a Mongo ObjectId); the last 16 are a keyed hash
 * of where the event came from and what it says. The same request replayed
 * (same request id, start time, position and body) yields the same ids, so
 * idempotent stores drop the copy; a proxy or SDK that reuses a request id for
 * different events cannot merge them (the content differs); the server secret
 * keeps clients from choosing ids that collide with other clients' events.
 */
export function deriveEventId(secret: string, input: EventIdInput): string {
  const seconds = Math.min(Math.max(Math.floor(input.timestamp / 1000), 0), 0xffffffff);
  const digest = createHmac('sha256', secret)
    .update(
      `${input.projectId}\n${input.collection}\n${input.requestId}\n${input.requestStart ?? ''}\n${input.index}\n`,
    )
    .update(input.content)
    .digest('hex');
  const prefix =
    input.timeOrdered === false ? digest.slice(16, 24) : seconds.toString(16).padStart(8, '0');
  return prefix + digest.slice(0, 16);
}
