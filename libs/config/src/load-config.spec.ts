import { ConfigError, loadConfig } from './load-config';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig('standalone', {});
    expect(c.http.port).toBe(8080);
    expect(c.storage.kind).toBe('sqlite');
    expect(c.queue.kind).toBe('inline');
    expect(c.limits).toEqual({
      maxEventBytes: 1048576,
      maxRequestBytes: 10485760,
      maxBatchEvents: 5000,
      maxPropertiesPerCollection: 1000,
    });
  });

  it('names the bad variable', () => {
    expect(() => loadConfig('standalone', { PORT: 'eighty' })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig('standalone', { STORE: 'postgres' })).toThrow(/STORE must be one of/);
    expect(() => loadConfig('standalone', { TRUST_PROXY: 'maybe' })).toThrow(ConfigError);
  });

  it('parses lists', () => {
    const c = loadConfig('ingest', { QUEUE: 'redis', STORE: 'mongo', REDIS_URLS: 'redis://a:1, redis://b:2' });
    expect(c.queue.redisUrls).toEqual(['redis://a:1', 'redis://b:2']);
  });
});
