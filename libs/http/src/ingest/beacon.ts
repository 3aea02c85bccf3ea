import { TallyError } from '@app/events';

/**
 * Decodes a beacon's `data` parameter: base64 JSON. Python's client sends raw
 * base64 whose '+' arrives as a space after URL decoding; URL-safe base64 is
 * accepted too.
 */
export function decodeBeaconData(data: unknown): unknown {
  if (typeof data !== 'string' || data.length === 0) {
    throw new TallyError('invalid', 'InvalidEventError', 'The "data" parameter must be a base64-encoded JSON event.');
  }
  const normalized = data.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  const text = Buffer.from(normalized, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new TallyError('invalid', 'InvalidJsonError', 'The "data" parameter is not base64-encoded JSON.');
  }
}

/** 1x1 transparent GIF: image loads need a real image (0x0 is read as a failure). */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
