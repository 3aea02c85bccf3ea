import { Queue } from 'bullmq';
import { CollectionEvent, EventBatch, TallyError } from '@app/events';
import { INGEST_QUEUE_NAME, IngestBatchPayload } from '../ingest-job.types';
import { ShardedBullQueue } from './sharded-bull.queue';
import { startTestRedis, TestRedis } from './testing/test-redis';

jest.setTimeout(60_000);

let seq = 0;
function batch(projectId: string, n: number): EventBatch {
  const batchId = `t${process.pid}-${seq++}`;
  const events: CollectionEvent[] = Array.from({ length: n }, (_, i) => {
    const ts = Date.UTC(2024, 2, 10, 7, 0, 0) + i;
    const id = `${batchId}-${i}`;
    return {
      id,
      collection: i % 2 ? 'clicks' : 'views',
      timestamp: ts,
      event: {
        user: { id: i, name: `u${i}` },
        tags: ['a', i],
        ok: i % 3 === 0,
        keen: { id, timestamp: new Date(ts).toISOString() },
      },
    };
  });
  return { batchId, projectId, events };
}

async function jobsOn(redis: TestRedis): Promise<IngestBatchPayload[]> {
  const q = new Queue(INGEST_QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    const jobs = await q.getJobs([
      'waiting',
      'delayed',
      'active',
      'completed',
      'failed',
      'prioritized',
    ]);
    return jobs.map((j) => j.data as IngestBatchPayload);
  } finally {
    await q.close();
  }
}

function eventsOf(
  payloads: IngestBatchPayload[],
): Map<string, CollectionEvent & { projectId: string }> {
  const out = new Map<string, CollectionEvent & { projectId: string }>();
  for (const p of payloads)
    for (const g of p.projects)
      for (const e of g.events) out.set(e.id, { ...e, projectId: g.projectId });
  return out;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

describe('ShardedBullQueue against real redis-server shards', () => {
  let a: TestRedis;
  let b: TestRedis;
  let queue: ShardedBullQueue | undefined;

  beforeEach(async () => {
    [a, b] = await Promise.all([startTestRedis(), startTestRedis()]);
  });
  afterEach(async () => {
    const t0 = Date.now();
    await queue?.close();
    queue = undefined;
    const t1 = Date.now();
    await Promise.all([a.stop(), b.stop()]);
    if (Date.now() - t0 > 3000)
      console.log(`slow teardown: close ${t1 - t0} ms, stop ${Date.now() - t1} ms`);
  });

  const make = (extra: Partial<ConstructorParameters<typeof ShardedBullQueue>[0]> = {}) =>
    new ShardedBullQueue({
      shards: [a, b].map((r) => ({ host: '127.0.0.1', port: r.port })),
      breakerCoolDownMs: 1000,
      ...extra,
    });

  it('group-commits concurrent enqueues into one job that carries every event field for field', async () => {
    queue = make({ groupWindowMs: 20 });
    const batches = [batch('p1', 3), batch('p2', 2), batch('p1', 4)];
    await Promise.all(batches.map((x) => queue!.enqueue(x)));
    const payloads = [...(await jobsOn(a)), ...(await jobsOn(b))];
    expect(payloads).toHaveLength(1);
    expect(payloads[0].sources.sort()).toEqual(batches.map((x) => x.batchId).sort());
    expect(payloads[0].projects.map((p) => p.projectId).sort()).toEqual(['p1', 'p2']);
    const stored = eventsOf(payloads);
    const sent = batches.flatMap((x) => x.events.map((e) => ({ ...e, projectId: x.projectId })));
    expect(stored.size).toBe(sent.length);
    for (const e of sent) expect(stored.get(e.id)).toEqual(e);
  });

  it('bounds a group by events per job', async () => {
    queue = make({ groupWindowMs: 50, maxEventsPerJob: 10 });
    const batches = Array.from({ length: 6 }, () => batch('p', 4));
    await Promise.all(batches.map((x) => queue!.enqueue(x)));
    const payloads = [...(await jobsOn(a)), ...(await jobsOn(b))];
    for (const p of payloads)
      expect(p.projects.reduce((n, g) => n + g.events.length, 0)).toBeLessThanOrEqual(10);
    expect(eventsOf(payloads).size).toBe(24);
  });

  it('close() flushes a pending group before releasing connections', async () => {
    queue = make({ groupWindowMs: 10_000 });
    const x = batch('p', 2);
    const pending = queue.enqueue(x);
    await queue.close();
    queue = undefined;
    await expect(pending).resolves.toBeUndefined();
    expect(eventsOf([...(await jobsOn(a)), ...(await jobsOn(b))]).size).toBe(2);
  });

  it('measures enqueue latency with healthy shards', async () => {
    queue = make();
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await queue.enqueue(batch('p', 1));
      times.push(performance.now() - t0);
    }
    const p50 = percentile(times, 50);
    const p99 = percentile(times, 99);
    console.log(
      `enqueue latency, healthy shards: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
    );
    expect(p50).toBeLessThan(50);
    const jobs = [...(await jobsOn(a)), ...(await jobsOn(b))];
    // Round-robin spreads the load over both shards.
    expect((await jobsOn(a)).length).toBeGreaterThan(50);
    expect(jobs).toHaveLength(200);
  });

  it('SIGSTOP of one shard during enqueue: every resolved batch is on a shard, within deadline; SIGCONT brings it back', async () => {
    const deadline = 1000;
    queue = make({ enqueueDeadlineMs: deadline, callTimeoutMs: 250 });
    const resolved: EventBatch[] = [];
    const rejected: EventBatch[] = [];
    const durations: number[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        const x = batch('p', 3);
        const t0 = Date.now();
        try {
          await queue!.enqueue(x);
          resolved.push(x);
        } catch (error) {
          expect(error).toBeInstanceOf(TallyError);
          rejected.push(x);
        }
        durations.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await new Promise((r) => setTimeout(r, 300));
    a.pause();
    await new Promise((r) => setTimeout(r, 1500));
    const during = resolved.length;
    expect(queue.status()[0].breaker).not.toBe('closed');
    a.resume();
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(clients);

    const worst = Math.max(...durations);
    console.log(
      `SIGSTOP shard: ${resolved.length} resolved, ${rejected.length} rejected, worst enqueue ${worst} ms`,
    );
    expect(worst).toBeLessThan(deadline + 200);
    expect(rejected).toHaveLength(0);
    expect(resolved.length).toBeGreaterThan(during);
    // After SIGCONT and the cool-down the probe closed shard A's breaker again.
    expect(queue.status()[0].breaker).toBe('closed');

    const onA = await jobsOn(a);
    const onB = await jobsOn(b);
    const stored = eventsOf([...onA, ...onB]);
    for (const x of resolved)
      for (const e of x.events) expect(stored.get(e.id)).toEqual({ ...e, projectId: 'p' });
    // Shard A took jobs after it came back (round-robin resumed).
    const lastBatches = new Set(resolved.slice(-20).map((x) => x.batchId));
    expect(onA.some((p) => p.sources.some((s) => lastBatches.has(s)))).toBe(true);
  });

  it('with both shards hung, enqueue rejects with unavailable at its deadline, then at once', async () => {
    queue = make({ enqueueDeadlineMs: 1000, callTimeoutMs: 250, breakerCoolDownMs: 10_000 });
    await queue.enqueue(batch('p', 1));
    a.pause();
    b.pause();
    let t0 = Date.now();
    const firstOutcome = queue
      .enqueue(batch('p', 1))
      .catch((e: unknown) => e)
      .then((error) => ({ error, ms: Date.now() - t0 }));
    // Both breakers are open after the two call timeouts; the calls are still
    // pending. A request now waits for them, and is answered when they fail,
    // before its own deadline.
    await new Promise((r) => setTimeout(r, 600));
    const t1 = Date.now();
    const meanwhile = await queue.enqueue(batch('p', 1)).catch((e: unknown) => e);
    const meanwhileMs = Date.now() - t1;
    expect((meanwhile as TallyError).kind).toBe('unavailable');
    expect(meanwhileMs).toBeLessThan(900);
    const { error: first, ms: firstMs } = await firstOutcome;
    expect(first).toBeInstanceOf(TallyError);
    expect((first as TallyError).kind).toBe('unavailable');
    expect((first as TallyError).retryAfterSeconds).toBe(1);
    // Once those calls failed (the client's command timeout, at the deadline),
    // no shard may still answer: requests fail at once.
    await new Promise((r) => setTimeout(r, 500));
    t0 = Date.now();
    const second = await queue.enqueue(batch('p', 1)).catch((e: unknown) => e);
    const secondMs = Date.now() - t0;
    expect((second as TallyError).kind).toBe('unavailable');
    console.log(
      `both shards hung: first 503 after ${firstMs} ms (the enqueue deadline), one sent meanwhile after ${meanwhileMs} ms (when the stalled calls failed), next after ${secondMs} ms (no call pending)`,
    );
    // Two call timeouts, then the rest of the deadline waiting for a late answer.
    expect(firstMs).toBeGreaterThanOrEqual(950);
    expect(firstMs).toBeLessThan(1300);
    expect(secondMs).toBeLessThan(20);
    a.resume();
    b.resume();
  });

  it('both shards stalled for less than the deadline: every enqueue is acknowledged, late', async () => {
    // What a disk stall does to two shards on one disk with AOF fsync on every write.
    queue = make({ enqueueDeadlineMs: 1000, callTimeoutMs: 250, breakerCoolDownMs: 10_000 });
    await queue.enqueue(batch('p', 1));
    await queue.enqueue(batch('p', 1));
    a.pause();
    b.pause();
    const sent = Array.from({ length: 6 }, () => batch('p', 2));
    const t0 = Date.now();
    const enqueue = (x: EventBatch) => queue!.enqueue(x).then(() => Date.now() - t0);
    // Four at once (one group, one job) find both breakers closed: the job
    // misses its call timeout on one shard, then on the other. Two more come
    // when both breakers are open and both shards stalled by those calls.
    const outcomes = sent.slice(0, 4).map(enqueue);
    await new Promise((r) => setTimeout(r, 600));
    expect(queue.status().map((s) => s.breaker)).toEqual(['open', 'open']);
    outcomes.push(...sent.slice(4).map(enqueue));
    await new Promise((r) => setTimeout(r, 200));
    a.resume();
    b.resume();
    const times = await Promise.all(outcomes);
    console.log(`both shards stalled 800 ms: acknowledged after ${times.join(', ')} ms`);
    for (const ms of times) expect(ms).toBeGreaterThanOrEqual(750);
    // The late answers close both breakers long before their 10 s cool-down
    // (the second shard's answer may come a moment after the first).
    const until = Date.now() + 1000;
    while (queue.status().some((s) => s.breaker !== 'closed') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    expect(queue.status().map((s) => s.breaker)).toEqual(['closed', 'closed']);
    const stored = eventsOf([...(await jobsOn(a)), ...(await jobsOn(b))]);
    for (const x of sent)
      for (const e of x.events) expect(stored.get(e.id)).toEqual({ ...e, projectId: 'p' });
  });

  it('with both shards dead (connection refused), enqueue rejects quickly', async () => {
    queue = make();
    await queue.enqueue(batch('p', 1));
    await Promise.all([a.stop(), b.stop()]);
    const t0 = Date.now();
    const error = await queue.enqueue(batch('p', 1)).catch((e: unknown) => e);
    expect((error as TallyError).kind).toBe('unavailable');
    expect(Date.now() - t0).toBeLessThan(600);
  });
});
