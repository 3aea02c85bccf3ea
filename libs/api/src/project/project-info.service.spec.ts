import { TallyConfig } from '@app/config';
import { SchemaService } from '@app/core';
import { MetadataStore, SavedQueryStore } from '@app/storage';
import { ProjectInfoService } from './project-info.service';

/** A metadata store with one project and the schema counters given (a fake below the port). */
function service(counters: Array<{ collection: string; path: string; count: number }>, exists = true) {
  const metadata = {
    getProject: async (id: string) => (exists ? { id, name: 'Shop', createdAt: '2024-01-01T00:00:00.000Z' } : null),
    getSchema: async () => counters.map((c) => ({ ...c, type: 'num' as const })),
    listCappedCollections: async () => [],
  } as unknown as MetadataStore;
  const config = { schema: { maxProperties: 1000 } } as TallyConfig;
  const saved = { list: async () => [] } as unknown as SavedQueryStore;
  return new ProjectInfoService(metadata, new SchemaService(metadata, config), saved);
}

describe('ProjectInfoService', () => {
  it("describes the project with its collections sorted by name, and URLs in Keen's shape", async () => {
    const view = await service([
      { collection: 'visits', path: 'n', count: 3 },
      { collection: 'a b', path: 'n', count: 1 },
      { collection: 'buys', path: 'price', count: 2 },
    ]).describe('shop');
    expect(view).toEqual({
      id: 'shop',
      name: 'Shop',
      url: '/3.0/projects/shop',
      events_url: '/3.0/projects/shop/events',
      queries_url: '/3.0/projects/shop/queries',
      events: [
        { name: 'a b', url: '/3.0/projects/shop/events/a%20b' },
        { name: 'buys', url: '/3.0/projects/shop/events/buys' },
        { name: 'visits', url: '/3.0/projects/shop/events/visits' },
      ],
      saved_queries: [],
    });
  });

  it('answers 404 for a project that no longer exists', async () => {
    await expect(service([], false).describe('gone')).rejects.toMatchObject({
      kind: 'not_found',
      errorCode: 'ResourceNotFoundError',
    });
  });

  it('lists one URL per analysis type', () => {
    const urls = service([]).queryUrls('shop');
    expect(urls.count_url).toBe('/3.0/projects/shop/queries/count');
    expect(urls.multi_analysis_url).toBe('/3.0/projects/shop/queries/multi_analysis');
    expect(Object.keys(urls).every((k) => k.endsWith('_url'))).toBe(true);
    expect(Object.getPrototypeOf(urls)).toBeNull();
  });
});
