/**
 * A queue shard killed with SIGKILL under load (no chance to flush anything),
 * then restarted from its own files: every event ingest acknowledged is stored
 * exactly once, field for field, and the schema counters equal a recount. An
 * acknowledgement means the job is in the shard's append-only file on disk
 * (`appendfsync always`, docs/queue.md); with `everysec` up to a second of
 * acknowledged jobs could die with the process. Writes meanwhile fail over to
 * the other shard. Runs on either event store.
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
} from '../support/split-stack';

jest.setTimeout(600_000);

describe('split deployment: a Redis shard killed with SIGKILL', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('redis-kill');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('keeps every acknowledged event: stored once with its body, counters exact', async () => {
    const common = {
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: 'rk',
    };
    const singles = new EventStream({ ...common, runId: 'rk-single', concurrency: 3 }).start();
    const batches = new EventStream({
      ...common,
      runId: 'rk-batch',
      concurrency: 2,
      batchSize: 25,
      pauseMs: 20,
    }).start();
    await sleep(3_000);
    // Killed while jobs are being added to it and taken from it.
    const jobsBefore = await stack.pendingJobs(1);
    stack.signal('redis-2', 'SIGKILL');
    await sleep(3_000);
    await stack.startService('redis-2');
    await sleep(4_000);
    await Promise.all([singles.stop(), batches.stop()]);

    const acknowledged = [...singles.acknowledged(), ...batches.acknowledged()];
    const sent = [...singles.sent(), ...batches.sent()];
    const docs = await stack.waitForMarkers(keys.id, 'rk', acknowledged, 120_000);
    const diff = compareStored(docs, acknowledged, sent);
    process.stdout.write(
      `redis-kill: singles ${singles.summary()}; batches ${batches.summary()}; ` +
        `acknowledged=${acknowledged.length} stored=${docs.length} jobs pending on shard 2 at the kill=${jobsBefore}\n`,
    );
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    expect(await stack.storeAgreement(keys.id, 'rk', docs)).toEqual(STORE_AGREES);
    // Field for field: each stored body is the one its request sent.
    expect(bodiesNotAsSent(docs)).toEqual([]);
    const counters = await stack.counterDoc(keys.id, 'rk');
    expect(nonZeroCounters(counters?.counts)).toEqual(recountCounters(docs));

    // No marker left pending: what a killed delivery left is settled once, and
    // the counters still equal the recount.
    await stack.settleMarkers();
    const settled = await stack.counterDoc(keys.id, 'rk');
    expect(settled?.pending ?? []).toEqual([]);
    expect(nonZeroCounters(settled?.counts)).toEqual(recountCounters(docs));
  });
});
