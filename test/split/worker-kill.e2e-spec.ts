/**
 * Acceptance 4 (docs/design.md, lessons 2 and 6): kill -9 of the worker mid-stream (and
 * again while it drains the backlog), then restart: every acknowledged event is
 * stored exactly once, and the schema counters equal a recount from the stored
 * events (a redelivered job must neither skip nor double its counter deltas).
 * Runs on either event store (STORE=mongo or cassandra); the counters live in
 * MongoDB on both, kept exact by each store's persister (docs/queue.md,
 * docs/cassandra.md).
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

jest.setTimeout(600_000);

describe('split deployment: worker killed with SIGKILL', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('worker-kill');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('stores every acknowledged event once and keeps the schema counters exact', async () => {
    const common = {
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: 'wk',
    };
    const singles = new EventStream({ ...common, runId: 'wk-single', concurrency: 3 }).start();
    const batches = new EventStream({
      ...common,
      runId: 'wk-batch',
      concurrency: 2,
      batchSize: 25,
      pauseMs: 20,
    }).start();
    await sleep(3_000);

    // Killed while it holds jobs: waited for, and counted right after the kill
    // (a dead worker's jobs stay in the active list until the stall check).
    await waitFor(async () => (await stack.activeJobs()) > 0, 10_000, 20);
    const killedPid = stack.signal('worker-1', 'SIGKILL');
    const inFlight = [await stack.activeJobs()];
    await sleep(4_000);
    const restarted = await stack.startService('worker-1');
    expect(restarted.pid).not.toBe(killedPid);
    // Again while it works through the backlog: jobs it holds are locked by a dead worker.
    await sleep(1_500);
    await waitFor(async () => (await stack.activeJobs()) > 0, 10_000, 20);
    stack.signal('worker-1', 'SIGKILL');
    inFlight.push(await stack.activeJobs());
    await sleep(1_000);
    await stack.startService('worker-1');
    await sleep(2_000);
    await Promise.all([singles.stop(), batches.stop()]);

    const acknowledged = [...singles.acknowledged(), ...batches.acknowledged()];
    const sent = [...singles.sent(), ...batches.sent()];
    const drainStart = Date.now();
    // A job held by the killed worker comes back when its lock expires (30 s) and the stall check runs.
    const docs = await stack.waitForMarkers(keys.id, 'wk', acknowledged, 120_000);
    const diff = compareStored(docs, acknowledged, sent);
    process.stdout.write(
      `worker-kill: singles ${singles.summary()}; batches ${batches.summary()}; ` +
        `acknowledged=${acknowledged.length} stored=${docs.length} drainMs=${Date.now() - drainStart} ` +
        `jobs in flight at the kills=${inFlight.join(',')}\n`,
    );
    // At least one kill caught the worker with jobs in its hands.
    expect(Math.max(...inFlight)).toBeGreaterThan(0);
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    // Field for field, and counters equal to a recount of what is stored.
    expect(bodiesNotAsSent(docs)).toEqual([]);
    expect(await stack.storeAgreement(keys.id, 'wk', docs)).toEqual(STORE_AGREES);
    for (const r of [...singles.requests, ...batches.requests])
      expect([200, 201]).toContain(r.status);

    const counters = await stack.counterDoc(keys.id, 'wk');
    const expected = recountCounters(docs);
    expect(expected.marker).toEqual({ string: docs.length });
    expect(nonZeroCounters(counters?.counts)).toEqual(expected);

    // No marker left pending: what a killed delivery left is settled once, and
    // the counters still equal the recount.
    await stack.settleMarkers();
    const settled = await stack.counterDoc(keys.id, 'wk');
    expect(settled?.pending ?? []).toEqual([]);
    expect(nonZeroCounters(settled?.counts)).toEqual(recountCounters(docs));
  });
});
