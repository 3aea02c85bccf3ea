import { JsonObject, propertyNameProblem } from '@app/events';

/** A URL longer than this is no page address a browser sends; it is not parsed. */
export const MAX_URL_LENGTH = 8192;
/** Query parameters kept per URL: each one becomes a schema property of the collection. */
export const MAX_QUERY_PARAMETERS = 50;

/** A well-formed absolute URL, or null (relative, malformed, over-long). */
export function parseUrl(value: unknown): URL | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) return null;
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/**
 * `keen:url_parser`: `{protocol, domain, path, anchor, query_string}`, where a
 * part the URL does not have is left out (as Keen does). The query string
 * becomes an object of its parameters: the first value of a repeated name, and
 * only names that are valid property names (a name with a dot or a leading
 * `$` would be refused in an event, so it is not made one here).
 */
export function urlParser(value: unknown): JsonObject | undefined {
  const url = parseUrl(value);
  if (!url) return undefined;
  const out: JsonObject = {};
  const protocol = url.protocol.replace(/:$/, '');
  if (protocol) out.protocol = protocol;
  if (url.hostname) out.domain = url.hostname;
  if (url.pathname) out.path = url.pathname;
  if (url.hash.length > 1) out.anchor = url.hash.slice(1);
  const query: JsonObject = Object.create(null);
  let kept = 0;
  for (const [name, parameter] of url.searchParams) {
    if (kept >= MAX_QUERY_PARAMETERS) break;
    if (propertyNameProblem(name) || Object.prototype.hasOwnProperty.call(query, name)) continue;
    query[name] = parameter;
    kept++;
  }
  // A plain object again: the stored event is plain JSON.
  if (kept > 0) out.query_string = { ...query };
  return out;
}
