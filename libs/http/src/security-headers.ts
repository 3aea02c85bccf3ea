/**
 * Headers every response carries. API answers are data, never pages: no
 * sniffing, no framing, no caching by shared proxies (a query result or a
 * schema belongs to one project's key). Two HTML pages: the API browser at
 * /docs loads its own scripts and styles and nothing else; the data explorer
 * at / (files under /explorer/) runs no inline code or style, and talks only
 * to this origin's API.
 */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";
const EXPLORER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function cspFor(url: string): string {
  if (url.startsWith('/docs')) return DOCS_CSP;
  if (url === '/' || url.startsWith('/?') || url.startsWith('/explorer/')) return EXPLORER_CSP;
  return API_CSP;
}

export interface HeaderTarget {
  getHeader(name: string): unknown;
  header(name: string, value: string): unknown;
}

export function applySecurityHeaders(url: string, reply: HeaderTarget): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('content-security-policy', cspFor(url));
  if (reply.getHeader('cache-control') === undefined) reply.header('cache-control', 'no-store');
}
