/**
 * What an acknowledged job costs when Redis fsyncs its AOF before answering
 * (`appendfsync always`) instead of once a second (`everysec`, where a kill -9 of
 * the shard may lose up to a second of jobs ingest already acknowledged).
 * Two Redis servers started by the project's stack code, identical but for
 * that setting, each the only shard of a ShardedBullQueue (the ingest pool's
 * producer with its group commit); 32 concurrent writers enqueue single events
 * and 100-event batches, rounds alternating between the two so machine noise
 * hits both. Reports acknowledged events/s and ack latency (p50/p99).
 * Run: `npm run bench -- redis-fsync` (figures in docs/benchmarks.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CollectionEvent } from '@app/events';
import { ShardedBullQueue } from '@app/queue/bullmq';
import { freePorts, redisService } from '@tools/stack';
import { median, percentile } from './support/load';
import { fmt } from './support/timing';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const WRITERS = Number(process.env.BENCH_WRITERS || 32);
const REQUESTS = Number(process.env.BENCH_REQUESTS || 3000);

interface Contender {
  name: string;
  queue: ShardedBullQueue;
  results: Map<number, { perSec: number[]; p50: number[]; p99: number[] }>;
}

function eventsOf(n: number, tag: string): CollectionEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${tag}-${i}`,
    collection: 'bench',
    timestamp: Date.now(),
    event: { n: i, page: '/pricing', user: { id: `u${i % 97}` }, keen: { id: `${tag}-${i}` } },
  }));
}

async function round(c: Contender, perRequest: number, r: number): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (let i = next++; i < REQUESTS; i = next++) {
        const s = performance.now();
        await c.queue.enqueue({
          batchId: `${c.name}-${perRequest}-${r}-${i}`,
          projectId: 'bench',
          events: eventsOf(perRequest, `${r}-${i}`),
        });
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const slot = c.results.get(perRequest) ?? { perSec: [], p50: [], p99: [] };
  slot.perSec.push((REQUESTS * perRequest) / seconds);
  slot.p50.push(percentile(latencies, 50));
  slot.p99.push(percentile(latencies, 99));
  c.results.set(perRequest, slot);
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'tally-bench-fsync-'));
  const ports = await freePorts(2);
  const servers = [];
  const contenders: Contender[] = [];
  try {
    for (const [k, fsync] of (['everysec', 'always'] as const).entries()) {
      const name = `redis-${fsync}`;
      const handle = await redisService.start({ name, port: ports[k], stateDir });
      servers.push(handle);
      // The stack's own configuration, then the one setting under test.
      execFileSync('redis-cli', ['-p', String(ports[k]), 'CONFIG', 'SET', 'appendfsync', fsync]);
      contenders.push({
        name,
        queue: new ShardedBullQueue({
          shards: [{ host: '127.0.0.1', port: ports[k] }],
          enqueueDeadlineMs: 10_000,
        }),
        results: new Map(),
      });
    }
    for (const perRequest of [1, 100]) {
      // Warm-up round, not recorded.
      for (const c of contenders) await round(c, perRequest, -1);
      for (const c of contenders) c.results.delete(perRequest);
      for (let r = 0; r < ROUNDS; r++) for (const c of contenders) await round(c, perRequest, r);
    }
    process.stdout.write(
      `redis-fsync: ${WRITERS} writers, ${REQUESTS} requests a round, median of ${ROUNDS} rounds\n`,
    );
    for (const perRequest of [1, 100]) {
      const [loose, strict] = contenders.map((c) => c.results.get(perRequest)!);
      const line = (c: Contender, x: typeof loose) =>
        `  ${c.name.padEnd(15)} ${String(perRequest).padStart(3)}/request: ${fmt(Math.round(median(x.perSec)))} events/s, ack p50 ${median(x.p50).toFixed(1)} ms, p99 ${median(x.p99).toFixed(1)} ms\n`;
      process.stdout.write(line(contenders[0], loose) + line(contenders[1], strict));
      process.stdout.write(
        `  always/everysec throughput ${(median(strict.perSec) / median(loose.perSec)).toFixed(2)}, p99 ${(median(strict.p99) / median(loose.p99)).toFixed(2)}\n`,
      );
    }
  } finally {
    for (const c of contenders) await c.queue.close();
    for (const s of servers) await s.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
