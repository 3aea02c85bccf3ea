import { TallyError } from '../errors';
import { JsonObject } from '../json.types';

export interface EventLimits {
  maxEventBytes: number;
  maxRequestBytes: number;
  maxBatchEvents: number;
}

/** Deeper nesting than this is refused: it only ever comes from abuse or bugs. */
export const MAX_DEPTH = 64;

/** An event is measured on its stored form (keen properties included), which is what the limit protects. */
export function assertStoredSize(event: JsonObject, maxEventBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(event));
  if (bytes > maxEventBytes) {
    throw new TallyError(
      'too_large',
      'EventTooLargeError',
      `Event is ${bytes} bytes; the limit is ${maxEventBytes} bytes.`,
    );
  }
}
