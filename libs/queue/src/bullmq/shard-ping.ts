import { Redis } from 'ioredis';
import { SingleFlightProbe } from '@app/storage';
import { RedisShardOptions } from './redis-connection.options';

/** One shard's answer to a readiness PING. */
export interface ShardPing {
  shard: number;
  address: string;
  ok: boolean;
  /** Why it is not usable (refused, timed out, …); absent when ok. */
  error?: string;
}

interface PingedShard {
  index: number;
  address: string;
  client: Redis;
  probe: SingleFlightProbe;
}

/**
 * Readiness of the queue shards: one small connection per shard that only
 * sends PING. It fails fast (no offline queue: a shard that is down answers at
 * once), and every PING is bounded by the caller's timeout (a SIGSTOPped Redis
 * accepts connections and never answers). At most one PING is in flight per
 * shard, so probing a hung shard often does not pile commands up on it.
 */
export class RedisShardPinger {
  private readonly shards: PingedShard[];

  constructor(shards: RedisShardOptions[], options: { connectTimeoutMs?: number } = {}) {
    this.shards = shards.map((shard, index) => {
      const address = `${shard.host}:${shard.port}`;
      const client = new Redis({
        host: shard.host,
        port: shard.port,
        password: shard.password,
        db: shard.db,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: options.connectTimeoutMs ?? 500,
        retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      });
      // Without a listener an 'error' event would crash the process.
      client.on('error', () => undefined);
      const probe = new SingleFlightProbe(`queue shard ${address}`, () => client.ping());
      return { index, address, client, probe };
    });
  }

  /** Every shard's answer, each within `timeoutMs`. */
  pingEach(timeoutMs: number): Promise<ShardPing[]> {
    return Promise.all(this.shards.map((shard) => this.pingOne(shard, timeoutMs)));
  }

  /**
   * Resolves as soon as one shard for which `usable(index)` holds answers PING;
   * rejects, naming each shard's problem, when none does within `timeoutMs`.
   */
  async pingAny(
    timeoutMs: number,
    usable: (shard: number) => string | null = () => null,
  ): Promise<void> {
    const attempts = this.shards.map(async (shard) => {
      const result = await this.pingOne(shard, timeoutMs);
      if (!result.ok) throw new Error(result.error);
      const problem = usable(shard.index);
      if (problem) throw new Error(`queue shard ${shard.address}: ${problem}`);
    });
    try {
      await Promise.any(attempts);
    } catch (error) {
      const reasons = (error as AggregateError).errors.map((e: Error) => e.message);
      throw new Error(`no queue shard is available (${reasons.join('; ')})`);
    }
  }

  async close(): Promise<void> {
    for (const shard of this.shards) shard.client.disconnect();
  }

  private async pingOne(shard: PingedShard, timeoutMs: number): Promise<ShardPing> {
    try {
      // Down or restarting: no command could be sent (the client keeps reconnecting).
      if (shard.client.status !== 'ready')
        throw new Error(`queue shard ${shard.address} is not connected`);
      await shard.probe.ping(timeoutMs);
      return { shard: shard.index, address: shard.address, ok: true };
    } catch (error) {
      return {
        shard: shard.index,
        address: shard.address,
        ok: false,
        error: pingFailure(shard, error as Error),
      };
    }
  }
}

/**
 * What an operator reads in the 503: which shard, and why. A shard that goes
 * away while its PING is in flight fails it with ioredis' own retry-limit
 * error ("Reached the max retries per request limit"), which names neither
 * the shard nor the cause; that is the same "not connected" as a shard found
 * down before the PING.
 */
function pingFailure(shard: PingedShard, error: Error): string {
  if (shard.client.status !== 'ready' || error.name === 'MaxRetriesPerRequestError')
    return `queue shard ${shard.address} is not connected`;
  return error.message.includes(shard.address)
    ? error.message
    : `queue shard ${shard.address}: ${error.message}`;
}
