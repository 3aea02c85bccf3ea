import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import {
  IngestAdmission,
  IngestCost,
  IngestRateLimiter,
  IngestRateLimits,
} from '../ingest-rate-limiter.port';
import { CircuitBreaker } from './circuit-breaker';
import { failFastRedisOptions, RedisShardOptions } from './redis-connection.options';
import { withTimeout } from './with-timeout';

/**
 * Two token buckets (events, bytes) in one hash per project, refilled from
 * the server's own clock so every ingest process agrees on them. Admits only
 * when both hold the cost, and then takes from both; a refusal takes nothing.
 * Returns {0, 0} admitted, {1, ms} refused by events, {2, ms} refused by bytes.
 * A limit of 0 is off. The hash expires once it would be full again anyway.
 */
const ADMIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local er, br, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ne, nb = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'e', 'b', 'at')
local elapsed = math.max(0, now - (tonumber(s[3]) or now))
local e = math.min(er * burst, (tonumber(s[1]) or er * burst) + elapsed * er / 1000)
local b = math.min(br * burst, (tonumber(s[2]) or br * burst) + elapsed * br / 1000)
if er > 0 and e < ne then return {1, math.ceil((ne - e) * 1000 / er)} end
if br > 0 and b < nb then return {2, math.ceil((nb - b) * 1000 / br)} end
redis.call('HSET', KEYS[1], 'e', tostring(e - ne), 'b', tostring(b - nb), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000) + 1000)
return {0, 0}
`;

const fallbacks = new Counter({
  name: 'tally_ingest_rate_limit_fallbacks_total',
  help: 'Write admissions decided by the per-process limiter because the shared one (its Redis shard) did not answer in time or its breaker was open.',
});

type AdmitReply = [number, number];
type ScriptedRedis = Redis & {
  tallyAdmit(key: string, ...args: (string | number)[]): Promise<AdmitReply>;
};

interface LimiterShard {
  client: ScriptedRedis;
  breaker: CircuitBreaker;
}

export interface RedisIngestRateLimiterOptions {
  shards: RedisShardOptions[];
  limits: IngestRateLimits;
  /** Decides while a project's shard is unreachable (per process, so looser across processes). */
  fallback: IngestRateLimiter;
  /** Longest a write waits for the shared limiter before the fallback decides (default 250 ms). */
  callTimeoutMs?: number;
}

/**
 * Per-project write limits shared by every ingest process: each project's
 * buckets live on one queue shard (chosen by a hash of the project id, so all
 * processes use the same one), updated by one script call per request. The
 * limiter must never be why a write fails or waits: a shard that errors,
 * hangs or has an open breaker hands the decision to the local fallback within
 * `callTimeoutMs`.
 */
export class RedisIngestRateLimiter implements IngestRateLimiter {
  private readonly shards: LimiterShard[];
  private readonly callTimeoutMs: number;

  constructor(private readonly options: RedisIngestRateLimiterOptions) {
    // 250 ms: a shard busy with a burst (40 requests at once on a loaded
    // 2-core machine) answered past 50 ms, and each process that fell back
    // admitted a whole bucket of its own; a hung shard still costs a write at
    // most this once before its breaker opens.
    this.callTimeoutMs = options.callTimeoutMs ?? 250;
    this.shards = options.shards.map((shard) => {
      const client = new Redis(
        failFastRedisOptions(shard, {
          connectTimeoutMs: 500,
          commandTimeoutMs: this.callTimeoutMs * 4,
        }),
      ) as ScriptedRedis;
      // Without a listener an 'error' event would crash the process.
      client.on('error', () => undefined);
      client.defineCommand('tallyAdmit', { numberOfKeys: 1, lua: ADMIT_SCRIPT });
      return { client, breaker: new CircuitBreaker({ failureThreshold: 3, coolDownMs: 2000 }) };
    });
  }

  async admit(cost: IngestCost): Promise<IngestAdmission> {
    const shard = this.shards[shardOf(cost.projectId, this.shards.length)];
    // Not connected (yet, or any more): the client reconnects by itself; a
    // command now would only fail at once (no offline queue).
    if (shard.client.status !== 'ready') return this.fallBack(cost);
    if (!shard.breaker.tryAcquire()) return this.fallBack(cost);
    const { eventsPerSecond, bytesPerSecond, burstSeconds } = this.options.limits;
    let reply: AdmitReply;
    try {
      reply = await withTimeout(
        shard.client.tallyAdmit(
          `tally:rate:${cost.projectId}`,
          eventsPerSecond,
          bytesPerSecond,
          burstSeconds,
          cost.events,
          cost.bytes,
        ),
        this.callTimeoutMs,
        'the rate-limit shard',
      );
    } catch {
      shard.breaker.onFailure();
      return this.fallBack(cost);
    }
    shard.breaker.onSuccess();
    const [refusedBy, waitMs] = reply;
    if (refusedBy === 0) return { admitted: true };
    return {
      admitted: false,
      limit: refusedBy === 1 ? 'events' : 'bytes',
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    };
  }

  /** Whether every shard's connection is up (the shared limiter decides only then). */
  connected(): boolean {
    return this.shards.every((s) => s.client.status === 'ready');
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.client.quit().catch(() => s.client.disconnect())));
  }

  private fallBack(cost: IngestCost): Promise<IngestAdmission> {
    fallbacks.inc();
    return this.options.fallback.admit(cost);
  }
}

/** The shard holding a project's buckets: the same in every process. */
export function shardOf(projectId: string, shards: number): number {
  return createHash('sha1').update(projectId).digest().readUInt32BE(0) % shards;
}
