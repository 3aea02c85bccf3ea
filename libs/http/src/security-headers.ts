/**
 * Headers every response carries. API answers are data, never pages: no
 * sniffing, no framing, no caching by shared proxies (a query result or a
 * schema belongs to one project's key). The API browser at /docs is the one
 * HTML page; it loads its own scripts and styles and nothing else.
 */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";

export interface HeaderTarget {
  getHeader(name: string): unknown;
  header(name: string, value: string): unknown;
}

export function applySecurityHeaders(url: string, reply: HeaderTarget): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('content-security-policy', url.startsWith('/docs') ? DOCS_CSP : API_CSP);
  if (reply.getHeader('cache-control') === undefined) reply.header('cache-control', 'no-store');
}
