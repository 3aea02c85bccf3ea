import { methodLabel, routeLabel, UNMATCHED_ROUTE } from './http-metrics';

describe('HTTP metric labels', () => {
  it('keeps the route template and labels a request no route matched as unmatched', () => {
    expect(routeLabel('/3.0/projects/:projectId/events/:collection')).toBe(
      '/3.0/projects/:projectId/events/:collection',
    );
    expect(routeLabel(undefined)).toBe(UNMATCHED_ROUTE);
    expect(routeLabel('')).toBe('unmatched');
  });

  it('keeps the known methods (upper case) and folds the rest into OTHER', () => {
    expect(['get', 'POST', 'Delete', 'OPTIONS', 'HEAD', 'PUT', 'PATCH'].map(methodLabel)).toEqual([
      'GET',
      'POST',
      'DELETE',
      'OPTIONS',
      'HEAD',
      'PUT',
      'PATCH',
    ]);
    expect(['PROPFIND', 'M-SEARCH', 'x'.repeat(300)].map(methodLabel)).toEqual([
      'OTHER',
      'OTHER',
      'OTHER',
    ]);
  });
});
