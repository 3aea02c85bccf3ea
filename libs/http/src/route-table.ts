/**
 * The methods each route pattern answers, collected as Fastify registers
 * routes, so an unmatched request can be told apart: a path nothing serves
 * (404) or a path served with other methods (405 with `Allow`).
 */
export class RouteTable {
  private readonly routes: { pattern: RegExp; method: string }[] = [];

  add(method: string | string[], url: string): void {
    if (url === '*' || url.includes('*')) return;
    const pattern = new RegExp(
      '^' +
        url
          .split('/')
          .map((part) =>
            part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
          )
          .join('/') +
        '/?$',
    );
    for (const m of Array.isArray(method) ? method : [method])
      this.routes.push({ pattern, method: m.toUpperCase() });
  }

  /** Methods served on this path (query string ignored), sorted; empty when none. */
  allowedMethods(url: string): string[] {
    const path = url.split('?')[0];
    const methods = new Set<string>();
    for (const r of this.routes) if (r.pattern.test(path)) methods.add(r.method);
    return [...methods].sort();
  }
}
