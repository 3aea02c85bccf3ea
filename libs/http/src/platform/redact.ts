/**
 * Keys must never reach a log. They travel in `Authorization` (redacted by
 * the logger) and in `?api_key=` (which every logged URL carries), and an
 * error message may quote a URL. Keys and the id secret are 64 hex digits:
 * the last guard masks any such run in a finished log line, whatever put it
 * there.
 */
const API_KEY_PARAM = /([?&;]api_key=)[^&#\s"]*/gi;
const SECRET_LIKE = /\b[0-9a-f]{64}\b/gi;

export const REDACTED = '[redacted]';

/** A URL as it may be logged: the api_key parameter's value replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  return url === undefined ? undefined : url.replace(API_KEY_PARAM, `$1${REDACTED}`);
}

/** A finished log line with api_key values and key-like tokens masked. */
export function redactLine(line: string): string {
  return line.replace(API_KEY_PARAM, `$1${REDACTED}`).replace(SECRET_LIKE, REDACTED);
}
