/**
 * Acceptance 2 (docs/design.md, lesson 4: the hung queue server): a Redis shard that is
 * alive but hung (SIGSTOP: the port still accepts TCP, nothing answers) must
 * not stall ingestion. Requests fail over within the enqueue deadline, every
 * acknowledged event is stored exactly once, and after SIGCONT the shard takes
 * jobs again (half-open probe of its circuit breaker). Runs on either event
 * store (STORE=mongo or cassandra): the fault is in the queue, the checks are
 * on what the store holds.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import {
  bodiesNotAsSent,
  compareStored,
  EventStream,
  ProjectKeys,
  sleep,
  SplitStack,
  STACK_START_TIMEOUT_MS,
  STORE_AGREES,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(240_000);

const DEADLINE_MS = 1000; // ENQUEUE_DEADLINE_MS default
const MARGIN_MS = 500; // nginx, HTTP and event-loop overhead on a busy test machine

describe('split deployment: one Redis shard hung (SIGSTOP)', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start({ env: { ENQUEUE_DEADLINE_MS: String(DEADLINE_MS) } });
    keys = await stack.createProject('hung-shard');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('fails over within the deadline, loses and doubles nothing, and uses the shard again after SIGCONT', async () => {
    const stream = new EventStream({
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: 'hung',
      runId: 'hung',
      concurrency: 4,
    }).start();
    await sleep(2_000);
    const before = stream.requests.length;

    stack.signal('redis-2', 'SIGSTOP');
    const stoppedAt = Date.now();
    await sleep(8_000);
    const duringHang = stream.requests.filter((r) => r.startedAt >= stoppedAt);
    stack.signal('redis-2', 'SIGCONT');
    const resumedAt = Date.now();

    // Jobs added before the hang (and any that timed out but landed) are counted now;
    // what comes after must be new traffic routed to the recovered shard.
    await sleep(1_000);
    const jobsAfterResume = await stack.shardJobs(1);
    const growth: string[] = [];
    const growing = await waitFor(
      async () => {
        const n = await stack.shardJobs(1);
        growth.push(`+${Date.now() - resumedAt}:${n}`);
        return n > jobsAfterResume + 5;
      },
      30_000,
      500,
    );
    process.stdout.write(`growth ${growth.join(' ')}\n`);
    await sleep(1_000);
    await stream.stop();

    const acknowledged = stream.acknowledged();
    const drainStart = Date.now();
    const docs = await stack.waitForMarkers(keys.id, 'hung', acknowledged, 90_000);
    const drainMs = Date.now() - drainStart;
    const diff = compareStored(docs, acknowledged, stream.sent());
    const slow = stream.requests.filter((r) => r.ms > DEADLINE_MS + MARGIN_MS);
    const summary =
      `${stream.summary()} stored=${docs.length} duringHang=${duringHang.length} ` +
      `ackedDuringHang=${duringHang.filter((r) => r.acked.length).length} ` +
      `shard2Jobs=${jobsAfterResume}->${await stack.shardJobs(1)} drainMs=${drainMs}`;
    process.stdout.write(`hung-shard: ${summary}\n`);
    for (const r of stream.requests.filter((x) => x.status !== 201 || x.ms > 300).slice(0, 30)) {
      process.stdout.write(
        `  ${r.status} ${Math.round(r.ms)}ms at stop${r.startedAt - stoppedAt >= 0 ? '+' : ''}${r.startedAt - stoppedAt} ms: ${r.error ?? ''}\n`,
      );
    }

    expect(before).toBeGreaterThan(20);
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    // Field for field, and counters equal to a recount of what is stored.
    expect(bodiesNotAsSent(docs)).toEqual([]);
    expect(nonZeroCounters((await stack.counterDoc(keys.id, 'hung'))?.counts)).toEqual(
      recountCounters(docs),
    );
    expect(await stack.storeAgreement(keys.id, 'hung', docs)).toEqual(STORE_AGREES);
    expect(slow.map((r) => Math.round(r.ms))).toEqual([]);
    // The other shard kept ingestion going while redis-2 was hung.
    expect(duringHang.filter((r) => r.acked.length).length).toBeGreaterThan(50);
    // Never a 2xx that was not enqueued; every answer is 201 or a fast 503.
    for (const r of stream.requests) expect([201, 503]).toContain(r.status);
    expect(growing).toBe(true);
  });
});
