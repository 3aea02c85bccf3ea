import { RouteTable } from './route-table';

describe('RouteTable', () => {
  const table = new RouteTable();
  table.add('POST', '/3.0/projects/:projectId/events/:collection');
  table.add(['GET', 'HEAD'], '/3.0/projects/:projectId/events/:collection');
  table.add('DELETE', '/3.0/projects/:projectId/events/:collection');
  table.add('OPTIONS', '*');

  it('lists the methods of a concrete path, ignoring the query string', () => {
    expect(table.allowedMethods('/3.0/projects/p/events/clicks?api_key=x')).toEqual([
      'DELETE',
      'GET',
      'HEAD',
      'POST',
    ]);
  });

  it('lists nothing for a path no route serves', () => {
    expect(table.allowedMethods('/3.0/projects/p/events/clicks/extra/deep')).toEqual([]);
    expect(table.allowedMethods('/nope')).toEqual([]);
  });

  it('treats parameters as one path segment and dots literally', () => {
    expect(table.allowedMethods('/3x0/projects/p/events/c')).toEqual([]);
  });
});
