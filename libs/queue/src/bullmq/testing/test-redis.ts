import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisService as redis } from '@tools/stack';

/**
 * Test-only: a Redis shard started by the project's own stack script (AOF
 * everysec, noeviction, loopback), on a free port in a private state dir.
 * pause()/resume() send SIGSTOP/SIGCONT: alive but hung, the failure mode the
 * breaker exists for.
 */
export interface TestRedis {
  pid: number;
  port: number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startTestRedis(name = 'redis'): Promise<TestRedis> {
  const stateDir = mkdtempSync(join(tmpdir(), 'tally-redis-'));
  const port = await freePort();
  const handle = await redis.start({ name, port, stateDir });
  let stopped = false;
  return {
    pid: handle.pid,
    port,
    pause: () => process.kill(handle.pid, 'SIGSTOP'),
    resume: () => process.kill(handle.pid, 'SIGCONT'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(handle.pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await handle.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
