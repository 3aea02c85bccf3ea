import { RedisOptions } from 'bullmq';

/** Where one Redis shard listens. */
export interface RedisShardOptions {
  host: string;
  port: number;
  password?: string;
  db?: number;
}

export interface RedisTimeouts {
  /** TCP connect timeout: short, a dead host must not hold a caller. */
  connectTimeoutMs: number;
  /** Per-command timeout: a hung server (process up, not answering) rejects after this. */
  commandTimeoutMs: number;
}

/**
 * ioredis options that fail fast. The defaults would queue commands while
 * disconnected (enableOfflineQueue) and retry them 20 times, and have no command
 * timeout at all: a SIGSTOPped Redis would then block callers forever.
 */
export function failFastRedisOptions(
  shard: RedisShardOptions,
  timeouts: RedisTimeouts,
): RedisOptions {
  return {
    host: shard.host,
    port: shard.port,
    password: shard.password,
    db: shard.db,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: timeouts.connectTimeoutMs,
    commandTimeout: timeouts.commandTimeoutMs,
    // Reconnect quickly and keep trying: the breaker, not the client, decides
    // whether the shard is used meanwhile.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
}

/**
 * The blocking (BZPOPMIN) connection of a Worker: BullMQ requires
 * maxRetriesPerRequest null there, and the command timeout must exceed the
 * longest block the worker issues, or every idle poll would time out.
 */
export function workerRedisOptions(
  shard: RedisShardOptions,
  timeouts: RedisTimeouts,
): RedisOptions {
  return {
    ...failFastRedisOptions(shard, timeouts),
    maxRetriesPerRequest: null,
    // A BullMQ Worker re-issues its commands across a reconnect through the
    // offline queue; without it a restarted shard (not merely a paused one)
    // leaves the worker disconnected for good. Producers keep it off: they
    // must fail fast and fail over instead.
    enableOfflineQueue: true,
  };
}
