import { TallyError } from '../errors';
import { parseJsonText } from '../json-text';

/**
 * Decodes a beacon's `data` parameter: base64 JSON. Python's client sends raw
 * base64 whose '+' arrives as a space after URL decoding; URL-safe base64 is
 * accepted too.
 */
export function decodeBeaconData(data: unknown): unknown {
  if (typeof data !== 'string' || data.length === 0) {
    throw new TallyError(
      'invalid',
      'InvalidEventError',
      'The "data" parameter must be a base64-encoded JSON event.',
    );
  }
  const normalized = data.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  const text = Buffer.from(normalized, 'base64').toString('utf8');
  // The one JSON parser of every body and parameter (a `__proto__` key stays data).
  return parseJsonText(text, 'The "data" parameter (base64-decoded)');
}
