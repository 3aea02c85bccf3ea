import { ShardedBullQueue } from './sharded-bull.queue';
import { startTestRedis, TestRedis } from './testing/test-redis';

jest.setTimeout(60_000);

const TIMEOUT_MS = 800;
const SLACK_MS = 700;

async function timed(call: Promise<void>): Promise<{ ms: number; error: string | null }> {
  const t0 = Date.now();
  const error = await call.then(
    () => null,
    (e: Error) => e.message,
  );
  return { ms: Date.now() - t0, error };
}

describe('ShardedBullQueue.ping (readiness over real Redis shards)', () => {
  let a: TestRedis;
  let b: TestRedis;
  let queue: ShardedBullQueue;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestRedis('redis-a'), startTestRedis('redis-b')]);
    queue = new ShardedBullQueue({
      shards: [
        { host: '127.0.0.1', port: a.port },
        { host: '127.0.0.1', port: b.port },
      ],
    });
  });

  afterAll(async () => {
    await queue?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('is ready with both shards, and with one hung (SIGSTOP) without waiting for it', async () => {
    const deadline = Date.now() + 10_000;
    let first = await timed(queue.ping(TIMEOUT_MS));
    // The probe connections open in the background after construction.
    while (first.error && Date.now() < deadline) {
      expect(first.error).toBe(
        `no queue shard is available (queue shard 127.0.0.1:${a.port} is not connected; ` +
          `queue shard 127.0.0.1:${b.port} is not connected)`,
      );
      await new Promise((r) => setTimeout(r, 100));
      first = await timed(queue.ping(TIMEOUT_MS));
    }
    expect(first.error).toBeNull();
    b.pause();
    try {
      for (let i = 0; i < 3; i++) {
        const probe = await timed(queue.ping(TIMEOUT_MS));
        expect(probe.error).toBeNull();
        expect(probe.ms).toBeLessThan(SLACK_MS);
      }
      a.pause();
      const none = await timed(queue.ping(TIMEOUT_MS));
      expect(none.error).toBe(
        `no queue shard is available (queue shard 127.0.0.1:${a.port} did not answer within ${TIMEOUT_MS} ms; ` +
          `queue shard 127.0.0.1:${b.port} did not answer within ${TIMEOUT_MS} ms)`,
      );
      expect(none.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    } finally {
      a.resume();
      b.resume();
    }
    await expect(queue.ping(TIMEOUT_MS)).resolves.toBeUndefined();
  });

  it('is not ready once every shard is stopped, within the timeout', async () => {
    await Promise.all([a.stop(), b.stop()]);
    const probe = await timed(queue.ping(TIMEOUT_MS));
    expect(probe.error).toBe(
      `no queue shard is available (queue shard 127.0.0.1:${a.port} is not connected; ` +
        `queue shard 127.0.0.1:${b.port} is not connected)`,
    );
    expect(probe.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });
});
