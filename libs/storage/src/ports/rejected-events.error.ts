import { TallyError } from '@app/events';

export interface RejectedEvent {
  id: string;
  reason: string;
}

/**
 * Thrown by a store (or persister) when some events of a write can never be
 * stored because of their content (too large, refused by the server's
 * validation). Every other event of the write was stored and counted; the
 * worker sends the rejected ones to the dead-letter store and acknowledges the
 * batch. Any other error is treated as the store being unavailable.
 */
export class RejectedEventsError extends TallyError {
  constructor(
    readonly rejected: RejectedEvent[],
    /** What the same write did with the other events. */
    readonly persisted: { inserted: number; duplicates: number } = { inserted: 0, duplicates: 0 },
  ) {
    super(
      'invalid',
      'RejectedEventsError',
      `${rejected.length} event(s) rejected by the store: ${rejected[0]?.reason ?? ''}`,
    );
  }
}

export function isRejectedEventsError(error: unknown): error is RejectedEventsError {
  return error instanceof RejectedEventsError;
}
