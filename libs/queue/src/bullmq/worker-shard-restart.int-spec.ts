import { IngestJobProcessor } from '@app/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { redisService as redis, freePorts } from '@tools/stack';
import { CollectionEvent } from '@app/events';
import { InMemoryDeadLetterStore } from '@app/storage/memory';
import { ShardedBullQueue } from './sharded-bull.queue';
import { IngestWorker } from './ingest.worker';

/**
 * A shard that is stopped and started again (not just paused) must be consumed
 * again: jobs enqueued after the restart reach the store.
 */
describe('IngestWorker after its Redis shard restarts', () => {
  it('consumes jobs enqueued after the restart', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-shard-restart-'));
    const [port] = await freePorts(1);
    const start = () => redis.start({ name: 'redis-restart', port, stateDir });
    await start();
    const stored = new Set<string>();
    const persister = {
      persist: async (_projectId: string, events: CollectionEvent[]) => {
        events.forEach((e) => stored.add(e.id));
        return { inserted: events.length, duplicates: 0 };
      },
    };
    const worker = new IngestWorker({
      shards: [{ host: '127.0.0.1', port }],
      handler: new IngestJobProcessor(persister, new InMemoryDeadLetterStore()),
    });
    worker.start();
    const queue = new ShardedBullQueue({
      shards: [{ host: '127.0.0.1', port }],
      breakerCoolDownMs: 200,
    });
    const acknowledged: string[] = [];
    let n = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const id = `id-${n++}`;
        try {
          await queue.enqueue({
            batchId: `b-${id}`,
            projectId: 'p',
            events: [{ collection: 'c', id, timestamp: 0, event: {} }],
          });
          acknowledged.push(id);
        } catch {
          // not acknowledged: the test only follows acknowledged ids
        }
      }
    };
    const waitStored = async () => {
      for (let t = 0; t < 100 && acknowledged.some((id) => !stored.has(id)); t++)
        await new Promise((r) => setTimeout(r, 200));
    };
    try {
      await send(20);
      await waitStored();
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
      await redis.stop(stateDir, 'redis-restart');
      await start();
      for (let t = 0; t < 50 && acknowledged.length < 40; t++) {
        await send(5);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(acknowledged.length).toBeGreaterThanOrEqual(40);
      await waitStored();
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await queue.close();
      await worker.close();
      await redis.stop(stateDir, 'redis-restart');
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  }, 120_000);
});
