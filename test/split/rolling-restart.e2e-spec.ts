/**
 * Acceptance 6 (docs/design.md, lesson 7): both ingest processes restarted one after the
 * other (graceful SIGTERM drain, then start) under continuous load: nginx moves
 * traffic to the other process, no client request fails, no event is lost.
 * Runs on either event store (STORE=mongo or cassandra).
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

describe('split deployment: rolling restart of the ingest pool', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('rolling');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('fails no request and loses no event', async () => {
    const common = {
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: 'rr',
    };
    const singles = new EventStream({ ...common, runId: 'rr-single', concurrency: 4 }).start();
    const batches = new EventStream({
      ...common,
      runId: 'rr-batch',
      concurrency: 1,
      batchSize: 50,
      pauseMs: 20,
    }).start();
    await sleep(2_000);

    const pids: number[] = [];
    for (const name of ['ingest-1', 'ingest-2']) {
      const before = (await stack.status()).find((s) => s.name === name)!.pid;
      const handle = await stack.restartService(name);
      expect(handle.pid).not.toBe(before);
      pids.push(handle.pid);
      await sleep(2_000);
    }
    await sleep(1_000);
    await Promise.all([singles.stop(), batches.stop()]);

    const status = await stack.status();
    for (const name of ['ingest-1', 'ingest-2'])
      expect(status.find((s) => s.name === name)).toMatchObject({ up: true });
    const acknowledged = [...singles.acknowledged(), ...batches.acknowledged()];
    const sent = [...singles.sent(), ...batches.sent()];
    // 16k events drain at about 100/s into the Mongo-wire server on a loaded machine.
    const docs = await stack.waitForMarkers(keys.id, 'rr', acknowledged, 120_000);
    const diff = compareStored(docs, acknowledged, sent);
    process.stdout.write(
      `rolling-restart: singles ${singles.summary()}; batches ${batches.summary()}; ` +
        `acknowledged=${acknowledged.length} stored=${docs.length}\n`,
    );
    expect({ singles: singles.failures(), batches: batches.failures() }).toEqual({
      singles: {},
      batches: {},
    });
    expect(acknowledged.length).toBe(sent.length);
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    // Field for field, and counters equal to a recount of what is stored.
    expect(bodiesNotAsSent(docs)).toEqual([]);
    expect(nonZeroCounters((await stack.counterDoc(keys.id, 'rr'))?.counts)).toEqual(
      recountCounters(docs),
    );
    expect(await stack.storeAgreement(keys.id, 'rr', docs)).toEqual(STORE_AGREES);
  });
});
