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
  assertStoredBytes(Buffer.byteLength(JSON.stringify(event)), maxEventBytes);
}

/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;

/**
 * The size of `{...body, keen}` as JSON, from texts the write path has anyway:
 * `bodyText` is JSON.stringify(body) and `keenText` JSON.stringify(keen). It
 * equals Buffer.byteLength(JSON.stringify({...body, keen})) without printing
 * the event a second time: the stored text is the body's text with its `keen`
 * value replaced, or with `"keen":…` appended.
 */
export function assertStoredEventSize(
  body: JsonObject,
  bodyText: string,
  keenText: string,
  maxEventBytes: number,
): void {
  const clientKeenText = Object.hasOwn(body, 'keen') ? JSON.stringify(body.keen) : undefined;
  const added =
    clientKeenText === undefined ? (bodyText.length > 2 ? 1 : 0) + '"keen":'.length : 0;
  // Most events are far below the limit: no need to count their bytes.
  if ((bodyText.length + keenText.length) * MAX_UTF8_PER_UNIT + added <= maxEventBytes) return;
  const bytes =
    Buffer.byteLength(bodyText) +
    added +
    Buffer.byteLength(keenText) -
    (clientKeenText === undefined ? 0 : Buffer.byteLength(clientKeenText));
  assertStoredBytes(bytes, maxEventBytes);
}

function assertStoredBytes(bytes: number, maxEventBytes: number): void {
  if (bytes > maxEventBytes) {
    throw new TallyError(
      'too_large',
      'EventTooLargeError',
      `Event is ${bytes} bytes; the limit is ${maxEventBytes} bytes.`,
    );
  }
}
