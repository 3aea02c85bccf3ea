/**
 * No fault at all: 16 clients POST 100-event batches at once (group commit
 * merges them into multi-request jobs, the worker writes several jobs
 * concurrently). Every acknowledged event must be stored, exactly once, no
 * stored event may still carry a write marker once the queue is drained, and
 * the schema counters must equal a recount of the stored events.
 *
 * "Drained" is read from the shards themselves (no job waiting, active or
 * delayed), not assumed after a fixed time: on a slow machine the worker may
 * need minutes for this load, and an event still queued is late, not lost. The
 * wait ends with a failure only when the pipeline stops making progress.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import {
  bodiesNotAsSent,
  compareStored,
  EventStream,
  ProjectKeys,
  sleep,
  SplitStack,
} from '../support/split-stack';

jest.setTimeout(900_000);

/**
 * Waits until every shard is drained and the stored count stops changing;
 * throws if neither the queue depth nor the stored count moved for `stallMs`.
 */
async function waitForDrain(
  stack: SplitStack,
  projectId: string,
  collection: string,
  stallMs: number,
) {
  let last = '';
  let lastChange = Date.now();
  for (;;) {
    // A store busy with the worker's writes may time a read out: that is not progress either way.
    const queued = await stack.queuedJobs().catch(() => -1);
    const stored = await stack.storedCount(projectId, collection).catch(() => -1);
    const state = `${queued}/${stored}`;
    if (state !== last) {
      last = state;
      lastChange = Date.now();
    } else if (queued === 0 && stored >= 0) {
      return { stored };
    }
    if (Date.now() - lastChange > stallMs) {
      throw new Error(
        `ingest pipeline stalled: ${queued} job(s) queued, ${stored} stored, no change for ${stallMs} ms`,
      );
    }
    await sleep(1_000);
  }
}

/** What the shards and the worker say, printed when events are missing. */
async function diagnostics(stack: SplitStack): Promise<string> {
  const lines: string[] = [];
  for (const shard of [0, 1]) {
    const k = (s: string) => `bull:tally-ingest:${s}`;
    const failed = (await stack.redis(shard, 'ZRANGE', k('failed'), '0', '-1'))
      .split('\n')
      .filter(Boolean);
    lines.push(
      `shard ${shard}: failed=${failed.length} completed=${await stack.redis(shard, 'ZCARD', k('completed'))}`,
    );
    for (const id of failed.slice(0, 5)) {
      lines.push(
        `  ${id}: ${await stack.redis(shard, 'HMGET', k(id), 'failedReason', 'attemptsMade', 'stalledCounter')}`,
      );
    }
  }
  const worker = stack.log('worker-1').split('\n');
  lines.push(...worker.filter((l) => /failed|error|retry|dead/i.test(l)).slice(-20));
  return lines.join('\n');
}

describe('split deployment: concurrent batches, no fault', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('concurrent');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('stores every acknowledged event of concurrent 100-event batches', async () => {
    const stream = new EventStream({
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: 'cb',
      runId: 'cb',
      concurrency: 16,
      batchSize: 100,
      pauseMs: 0,
    }).start();
    while (stream.sent().length < 6_000) await sleep(50);
    await stream.stop();
    const stoppedAt = Date.now();

    await waitForDrain(stack, keys.id, 'cb', 120_000);
    const drainMs = Date.now() - stoppedAt;
    const acknowledged = stream.acknowledged();
    const docs = await stack.storedEvents(keys.id, 'cb');
    const diff = compareStored(docs, acknowledged, stream.sent());
    const counters = await stack.counterDoc(keys.id, 'cb');
    process.stdout.write(
      `concurrent-batches: ${stream.summary()} stored=${docs.length} missing=${diff.missing.length} ` +
        `pendingMarkers=${counters?.pending?.length ?? 0} drainedAfter=${drainMs}ms\n`,
    );
    if (diff.missing.length > 0) process.stdout.write(`${await diagnostics(stack)}\n`);
    expect(acknowledged.length).toBe(stream.sent().length);
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    // Field for field, and counters equal to a recount of what is stored.
    expect(bodiesNotAsSent(docs)).toEqual([]);
    expect(docs.filter((d) => d.m !== undefined)).toEqual([]);
    // Counters equal a recount of what is stored: no delivery's deltas skipped or doubled.
    // (A delivery that failed before inserting anything may leave its marker registered
    // on the counter document; that carries no counts, see docs/queue.md.)
    const expected = recountCounters(docs);
    expect(expected.marker).toEqual({ string: docs.length });
    expect(nonZeroCounters(counters?.counts)).toEqual(expected);
  });
});
