import { TallyError } from '@app/events';

// Decoding `data` is shared with the journal replay, so it lives beside the event model.
export { decodeBeaconData } from '@app/events';

/** Longer redirect targets are refused: browsers and proxies cut URLs beyond about 2 KB anyway. */
export const MAX_REDIRECT_LENGTH = 2048;

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph
 * separators. The URL parser would silently drop tabs and newlines rather
 * than refuse them, and a header value must never carry any of these.
 */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function badRedirect(message: string): TallyError {
  return new TallyError('invalid', 'InvalidRedirectError', message);
}

/** Whether `hostname` (as the URL parser gives it: lower case, punycode) is one the deployment allows. */
export function redirectHostAllowed(hostname: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) =>
    pattern.startsWith('*.')
      ? hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1
      : hostname === pattern,
  );
}

/**
 * The beacon's `redirect=` target, checked before anything is stored so that
 * a refused redirect leaves nothing behind for a retry to duplicate. It must be
 * an absolute http(s) URL without credentials whose host BEACON_REDIRECT_HOSTS
 * allows (the write URL is not an open redirect). The answer is the parser's
 * serialisation — percent-encoded, punycode host, ASCII only — which is what
 * goes into the Location header, never the client's raw text.
 * Undefined when the request asks for no redirect.
 */
export function beaconRedirect(raw: unknown, allowedHosts: readonly string[]): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') {
    throw badRedirect('Send the "redirect" parameter once, as one URL.');
  }
  if (raw.length > MAX_REDIRECT_LENGTH) {
    throw badRedirect(`The "redirect" URL is longer than ${MAX_REDIRECT_LENGTH} characters.`);
  }
  if (UNSAFE_CHARACTERS.test(raw)) {
    throw badRedirect(
      'The "redirect" URL contains a control character or line separator (CR, LF, U+2028…).',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRedirect('The "redirect" parameter must be an absolute http(s) URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badRedirect('The "redirect" parameter must be an absolute http(s) URL.');
  }
  if (url.username || url.password) {
    throw badRedirect('The "redirect" URL must not carry a user name or password.');
  }
  if (allowedHosts.length === 0) {
    throw badRedirect(
      'Beacon redirects are disabled on this server (BEACON_REDIRECT_HOSTS lists no host).',
    );
  }
  if (!redirectHostAllowed(url.hostname, allowedHosts)) {
    throw badRedirect(
      `The "redirect" host "${url.hostname}" is not one this server redirects to (BEACON_REDIRECT_HOSTS).`,
    );
  }
  const location = url.href;
  // The serialisation percent-encodes everything outside printable ASCII; kept as a guard.
  if (!/^[\x21-\x7e]+$/.test(location)) {
    throw badRedirect('The "redirect" URL cannot be sent as a Location header.');
  }
  return location;
}

/** 1x1 transparent GIF: image loads need a real image (0x0 is read as a failure). */
export const PIXEL_GIF = Buffer.from(
  'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7',
  'base64',
);
