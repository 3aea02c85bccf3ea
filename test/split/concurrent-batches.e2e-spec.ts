/**
 * No fault at all: 16 clients POST 100-event batches at once (group commit
 * merges them into multi-request jobs, the worker writes several jobs
 * concurrently). Every acknowledged event must be stored, exactly once, and no
 * write marker may stay pending once the queue is drained.
 */
import { compareStored, EventStream, ProjectKeys, sleep, SplitStack } from '../support/split-stack';

jest.setTimeout(300_000);

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

    const acknowledged = stream.acknowledged();
    const docs = await stack.waitForMarkers(keys.id, 'cb', acknowledged, 150_000);
    const diff = compareStored(docs, acknowledged, stream.sent());
    const counters = await stack.counterDoc(keys.id, 'cb');
    process.stdout.write(
      `concurrent-batches: ${stream.summary()} stored=${docs.length} missing=${diff.missing.length} ` +
        `pendingMarkers=${counters?.pending?.length ?? 0}\n`,
    );
    expect(acknowledged.length).toBe(stream.sent().length);
    expect(diff.missing.length).toBe(0);
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    expect(counters?.pending ?? []).toEqual([]);
  });
});
