import { RedisShardOptions } from './redis-connection.options';

/** REDIS_URLS entries (`redis://[:password@]host:port[/db]`) as shard options. */
export function redisShards(urls: string[]): RedisShardOptions[] {
  return urls.map((raw) => {
    const url = new URL(raw);
    if (url.protocol !== 'redis:')
      throw new Error(`REDIS_URLS entry "${raw}" must start with redis://`);
    const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
    return {
      host: url.hostname,
      port: Number(url.port || 6379),
      password: url.password ? decodeURIComponent(url.password) : undefined,
      db,
    };
  });
}
