/**
 * Keys must never reach a log. They travel in `Authorization` (redacted by
 * the logger) and in `?api_key=` (which every logged URL carries), and an
 * error message may quote a URL. Keys and the id secret are 64 hex digits:
 * the last guard masks any such run in a finished log line, whatever put it
 * there.
 */
// Any parameter (name and value); the name is compared once percent-decoded,
// since the query-string parser decodes `ap%69_key` to `api_key` (and the
// value's escapes to the key's hex digits, which the hex guard cannot see).
const QUERY_PARAM = /([?&;])([^=&#;\s"?]*)=([^&#;\s"]*)/g;
const SECRET_LIKE = /\b[0-9a-f]{64}\b/gi;

export const REDACTED = '[redacted]';

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

function redactApiKeyParams(text: string): string {
  return text.replace(QUERY_PARAM, (whole, sep: string, name: string) =>
    decodedName(name) === 'api_key' ? `${sep}${name}=${REDACTED}` : whole,
  );
}

/** A URL as it may be logged: the api_key parameter's value replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  return url === undefined ? undefined : redactApiKeyParams(url);
}

/** A finished log line with api_key values and key-like tokens masked. */
export function redactLine(line: string): string {
  return redactApiKeyParams(line).replace(SECRET_LIKE, REDACTED);
}
