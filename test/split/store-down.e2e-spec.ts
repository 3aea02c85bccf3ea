/**
 * Acceptance 5 (DESIGN lessons 4 and 6): the MongoDB server stopped for a while
 * under load, then started again. Ingest does not depend on the store (keys are
 * cached, events wait in Redis), the worker keeps its jobs and retries with
 * backoff: no acknowledged event is lost, none is stored twice.
 */
import { compareStored, EventStream, ProjectKeys, sleep, SplitStack } from '../support/split-stack';

jest.setTimeout(300_000);

describe('split deployment: event store down under load', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('store-down');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('loses and doubles nothing acknowledged across a store outage', async () => {
    const common = { baseUrl: stack.baseUrl, projectId: keys.id, writeKey: keys.write_key, collection: 'sd' };
    const singles = new EventStream({ ...common, runId: 'sd-single', concurrency: 3 }).start();
    const batches = new EventStream({ ...common, runId: 'sd-batch', concurrency: 1, batchSize: 50, pauseMs: 50 }).start();
    await sleep(3_000);

    const downAt = Date.now();
    expect(await stack.stopService('mongo')).toBe(true);
    await sleep(10_000);
    await stack.startService('mongo');
    const upAt = Date.now();
    await sleep(3_000);
    await Promise.all([singles.stop(), batches.stop()]);

    const all = [...singles.requests, ...batches.requests];
    const duringOutage = all.filter((r) => r.startedAt >= downAt && r.startedAt < upAt);
    const acknowledged = [...singles.acknowledged(), ...batches.acknowledged()];
    const drainStart = Date.now();
    const docs = await stack.waitForMarkers(keys.id, 'sd', acknowledged, 180_000);
    const diff = compareStored(docs, acknowledged, [...singles.sent(), ...batches.sent()]);
    process.stdout.write(
      `store-down: singles ${singles.summary()}; batches ${batches.summary()}; ` +
        `duringOutage=${duringOutage.length} ackedDuringOutage=${duringOutage.filter((r) => r.acked.length).length} ` +
        `acknowledged=${acknowledged.length} stored=${docs.length} drainMs=${Date.now() - drainStart}\n`,
    );
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    expect(new Set(docs.map((d) => d._id)).size).toBe(docs.length);
    // Ingestion itself never needed the store: it kept acknowledging throughout.
    expect(duringOutage.filter((r) => r.acked.length).length).toBeGreaterThan(50);
  });
});
