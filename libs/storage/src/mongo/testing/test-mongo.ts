import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mongoService as mongo } from '@tools/stack';

/**
 * Test-only: the project's MongoDB-wire server (mongo-java-server, see
 * docs/SERVICES) started by the stack script on a free port. It is not mongod:
 * where it differs, the specs say so next to the assertion.
 */
export interface TestMongo {
  pid: number;
  port: number;
  url: string;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
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

export async function startTestMongo(): Promise<TestMongo> {
  const stateDir = mkdtempSync(join(tmpdir(), 'tally-mongo-'));
  const port = await freePort();
  const handle = await mongo.start({ name: 'mongo', port, stateDir, backend: 'memory' });
  let stopped = false;
  return {
    pid: handle.pid,
    port,
    url: mongo.mongoUrl(port),
    pause: () => stopAndWait(handle.pid),
    resume: () => process.kill(handle.pid, 'SIGCONT'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(handle.pid, 'SIGCONT');
      } catch {
        // gone
      }
      await handle.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * SIGSTOP, then wait until every thread of the process is stopped. The signal
 * is only queued when kill() returns: on a loaded machine a request sent right
 * after could still be answered (a readiness probe once was).
 */
function stopAndWait(pid: number): void {
  process.kill(pid, 'SIGSTOP');
  const until = Date.now() + 5_000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < until) {
    const states = readdirSync(`/proc/${pid}/task`).map(
      (task) => readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ').pop()?.[0],
    );
    if (states.every((state) => state === 'T' || state === 't')) return;
    Atomics.wait(nap, 0, 0, 5);
  }
  throw new Error(`process ${pid} did not stop within 5 s of SIGSTOP`);
}
