import { BreakerState } from './circuit-breaker';
import { breakerStateValue, readShardBacklogs, ShardBacklog, ShardProbe } from './shard-metrics';

function probe(
  shard: number,
  state: BreakerState,
  backlog: () => Promise<ShardBacklog>,
): ShardProbe & { calls: number } {
  const p = {
    shard,
    calls: 0,
    breakerState: () => state,
    backlog: () => {
      p.calls += 1;
      return backlog();
    },
  };
  return p;
}

describe('breakerStateValue', () => {
  it('maps closed to 0, open to 1 and half-open to 0.5', () => {
    expect((['closed', 'open', 'half-open'] as BreakerState[]).map(breakerStateValue)).toEqual([
      0, 1, 0.5,
    ]);
  });
});

describe('readShardBacklogs', () => {
  const NOW = 1_700_000_000_000;

  it('reads closed shards, and gives the oldest waiting job age in seconds (0 when none waits)', async () => {
    const busy = probe(0, 'closed', async () => ({ waiting: 7, oldestEnqueuedAt: NOW - 2_500 }));
    const idle = probe(1, 'closed', async () => ({ waiting: 0 }));
    expect(await readShardBacklogs([busy, idle], 100, () => NOW)).toEqual([
      { shard: 0, waiting: 7, oldestAgeSeconds: 2.5 },
      { shard: 1, waiting: 0, oldestAgeSeconds: 0 },
    ]);
  });

  it('does not ask a shard whose breaker is open or half-open: NaN for both values', async () => {
    const open = probe(0, 'open', async () => ({ waiting: 1 }));
    const halfOpen = probe(1, 'half-open', async () => ({ waiting: 1 }));
    const readings = await readShardBacklogs([open, halfOpen], 100, () => NOW);
    expect(readings).toEqual([
      { shard: 0, waiting: NaN, oldestAgeSeconds: NaN },
      { shard: 1, waiting: NaN, oldestAgeSeconds: NaN },
    ]);
    expect([open.calls, halfOpen.calls]).toEqual([0, 0]);
  });

  it('answers within the timeout when a shard hangs (NaN for it), and NaN for a shard that errs', async () => {
    const hung = probe(0, 'closed', () => new Promise<ShardBacklog>(() => undefined));
    const failing = probe(1, 'closed', async () => {
      throw new Error('connection refused');
    });
    const healthy = probe(2, 'closed', async () => ({ waiting: 3, oldestEnqueuedAt: NOW }));
    const started = Date.now();
    const readings = await readShardBacklogs([hung, failing, healthy], 50, () => NOW);
    const elapsed = Date.now() - started;
    expect(readings).toEqual([
      { shard: 0, waiting: NaN, oldestAgeSeconds: NaN },
      { shard: 1, waiting: NaN, oldestAgeSeconds: NaN },
      { shard: 2, waiting: 3, oldestAgeSeconds: 0 },
    ]);
    // Bounded by the timeout, not by the hung shard (which never answers).
    expect(elapsed).toBeLessThan(5_000);
  });
});
