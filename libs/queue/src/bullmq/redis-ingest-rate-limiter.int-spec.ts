import { IngestAdmission, IngestCost, IngestRateLimiter } from '../ingest-rate-limiter.port';
import { RedisIngestRateLimiter, shardOf } from './redis-ingest-rate-limiter';
import { startTestRedis, TestRedis } from './testing/test-redis';

jest.setTimeout(60_000);

const LIMITS = { eventsPerSecond: 1000, bytesPerSecond: 1_000_000, burstSeconds: 1 };

/** A fallback that records what it was asked and answers as told. */
function recordingFallback(answer: IngestAdmission) {
  const asked: IngestCost[] = [];
  const limiter: IngestRateLimiter & { asked: IngestCost[] } = {
    asked,
    admit: async (cost) => {
      asked.push(cost);
      return answer;
    },
    close: async () => undefined,
  };
  return limiter;
}

/** Admitted events of `n` requests of `events` each for a project, sent at once. */
async function burst(
  limiter: IngestRateLimiter,
  projectId: string,
  n: number,
  events: number,
): Promise<{ admitted: number; refused: IngestAdmission[] }> {
  const answers = await Promise.all(
    Array.from({ length: n }, () => limiter.admit({ projectId, events, bytes: events * 100 })),
  );
  return {
    admitted: answers.filter((a) => a.admitted).length * events,
    refused: answers.filter((a) => !a.admitted),
  };
}

describe('RedisIngestRateLimiter (per-project write limits shared through the queue shards)', () => {
  let a: TestRedis;
  let b: TestRedis;
  const limiters: IngestRateLimiter[] = [];
  const shards = () => [
    { host: '127.0.0.1', port: a.port },
    { host: '127.0.0.1', port: b.port },
  ];
  const make = async (fallback: IngestRateLimiter, callTimeoutMs = 200) => {
    const limiter = new RedisIngestRateLimiter({
      shards: shards(),
      limits: LIMITS,
      fallback,
      callTimeoutMs,
    });
    limiters.push(limiter);
    const deadline = Date.now() + 5_000;
    while (!limiter.connected() && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(limiter.connected()).toBe(true);
    return limiter;
  };

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestRedis('rate-a'), startTestRedis('rate-b')]);
  });

  afterAll(async () => {
    await Promise.all(limiters.map((l) => l.close()));
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('shares one budget between two processes: together they admit the burst, not twice it', async () => {
    const fallback = recordingFallback({ admitted: true });
    const one = await make(fallback);
    const two = await make(fallback);
    const project = 'shared-budget';
    // 40 requests of 50 events from each "process" at once: 4,000 asked, 1,000 in the bucket.
    const [x, y] = await Promise.all([
      burst(one, project, 40, 50),
      burst(two, project, 40, 50),
    ]);
    const admitted = x.admitted + y.admitted;
    // The bucket refills at 1,000/s while the burst is sent: a few more may fit, never twice it.
    expect(admitted).toBeGreaterThanOrEqual(1000);
    expect(admitted).toBeLessThan(1500);
    expect(x.refused.length + y.refused.length).toBe(80 - admitted / 50);
    for (const r of [...x.refused, ...y.refused])
      expect(r).toEqual({ admitted: false, limit: 'events', retryAfterSeconds: 1 });
    expect(fallback.asked).toEqual([]);
  });

  it('leaves other projects their whole budget while one is over its limit', async () => {
    const limiter = await make(recordingFallback({ admitted: true }));
    const noisy = await burst(limiter, 'noisy', 30, 100);
    expect(noisy.refused.length).toBeGreaterThan(15);
    const quiet = await burst(limiter, 'quiet', 10, 100);
    expect(quiet).toEqual({ admitted: 1000, refused: [] });
  });

  it('refuses by bytes, and a refusal spends nothing', async () => {
    const limiter = await make(recordingFallback({ admitted: true }));
    const project = 'bytes';
    expect(await limiter.admit({ projectId: project, events: 1, bytes: 900_000 })).toEqual({
      admitted: true,
    });
    expect(await limiter.admit({ projectId: project, events: 500, bytes: 200_000 })).toEqual({
      admitted: false,
      limit: 'bytes',
      retryAfterSeconds: 1,
    });
    // The refused request spent no events: 999 are still there.
    expect(await limiter.admit({ projectId: project, events: 999, bytes: 0 })).toEqual({
      admitted: true,
    });
  });

  it('hands the decision to the local fallback within its timeout when the shard hangs, and uses the shard again after', async () => {
    const fallback = recordingFallback({ admitted: false, limit: 'events', retryAfterSeconds: 7 });
    const limiter = await make(fallback, 100);
    // A project whose buckets live on shard a.
    let project = 'hung-0';
    for (let i = 1; shardOf(project, 2) !== 0; i++) project = `hung-${i}`;
    expect(await limiter.admit({ projectId: project, events: 1, bytes: 1 })).toEqual({
      admitted: true,
    });
    a.pause();
    try {
      const t0 = Date.now();
      const answer = await limiter.admit({ projectId: project, events: 2, bytes: 3 });
      expect(Date.now() - t0).toBeLessThan(100 + 400);
      expect(answer).toEqual({ admitted: false, limit: 'events', retryAfterSeconds: 7 });
      expect(fallback.asked).toEqual([{ projectId: project, events: 2, bytes: 3 }]);
      // After three failures the breaker opens: answers come at once, from the fallback.
      await limiter.admit({ projectId: project, events: 1, bytes: 1 });
      await limiter.admit({ projectId: project, events: 1, bytes: 1 });
      const t1 = Date.now();
      await limiter.admit({ projectId: project, events: 1, bytes: 1 });
      expect(Date.now() - t1).toBeLessThan(50);
      expect(fallback.asked).toHaveLength(4);
    } finally {
      a.resume();
    }
    // The breaker's cool-down (2 s) passes, the probe succeeds, the shard decides again.
    await new Promise((r) => setTimeout(r, 2_200));
    const deadline = Date.now() + 10_000;
    let back: IngestAdmission | undefined;
    while (Date.now() < deadline) {
      const before = fallback.asked.length;
      back = await limiter.admit({ projectId: project, events: 1, bytes: 1 });
      if (fallback.asked.length === before) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(back).toEqual({ admitted: true });
  });
});
