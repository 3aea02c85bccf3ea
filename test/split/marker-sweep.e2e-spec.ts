/**
 * The stale-marker sweep (docs/queue.md) on a real killed delivery: the worker
 * is killed with SIGKILL while a delivery's marker is pending, and is not restarted, so the
 * markers of the deliveries it had in hand stay pending. `tally markers list`
 * shows them, `tally markers sweep` settles them from what the dead worker
 * stored (counters = a recount of the stored events, nothing pending), and a
 * second sweep changes nothing. Then the worker comes back: the redelivered
 * jobs count nothing twice, every acknowledged event is stored once, and its
 * pending-markers gauge reads 0. Runs on either event store.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { scrape } from '../support/prometheus';
import {
  compareStored,
  EventStream,
  ProjectKeys,
  sleep,
  SplitStack,
  STACK_START_TIMEOUT_MS,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(300_000);

const COLLECTION = 'sweep';
// SplitStack.createProject writes to `warmup` until both ingest processes take
// the key; a slow worker may still hold those when it is killed.
const COLLECTIONS = ['warmup', COLLECTION];

interface StaleEntry {
  project: string;
  collection: string;
  marker: string;
  registeredAt: string;
}

describe('split deployment: stale write markers of a killed worker', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    // The worker's own sweep never touches markers this young (at least 2 min);
    // it only refreshes the pending gauge, every second here.
    stack = await SplitStack.start({ env: { MARKER_SWEEP_INTERVAL_MS: '1000' } });
    keys = await stack.createProject('marker-sweep');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  async function cliJson<T>(...args: string[]): Promise<T> {
    const result = await stack.cli(...args, '--json');
    expect([result.code, result.stderr]).toEqual([0, '']);
    return JSON.parse(result.stdout) as T;
  }

  const staleOfProject = async () =>
    (
      await cliJson<{ pending: number; stale: StaleEntry[] }>(
        'markers',
        'list',
        '--older-than',
        '0',
      )
    ).stale.filter((e) => e.project === keys.id);

  it('settles what the killed delivery stored, once, and the redelivery adds nothing', async () => {
    const stream = new EventStream({
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: COLLECTION,
      runId: 'ms',
      concurrency: 2,
      batchSize: 20,
      pauseMs: 10,
    }).start();

    // Killed while a delivery's marker is pending with some of its events
    // stored (inserted, counters not yet applied). That window is a few
    // milliseconds of each delivery, so the worker is frozen (SIGSTOP) until
    // one is caught in it, thawed and frozen again otherwise, and then killed
    // (SIGKILL) exactly there.
    let stale: StaleEntry[] = [];
    let freezes = 0;
    const storedUnder = async (markers: Set<string>) =>
      (await stack.storedEvents(keys.id, COLLECTION)).filter((d) => markers.has(d.m as string))
        .length;
    while (freezes < 60) {
      await waitFor(async () => (await stack.activeJobs()) > 0, 20_000, 20);
      stack.signal('worker-1', 'SIGSTOP');
      freezes++;
      stale = await staleOfProject();
      if (stale.length > 0 && (await storedUnder(new Set(stale.map((e) => e.marker)))) > 0) break;
      stack.signal('worker-1', 'SIGCONT');
      await sleep(Math.floor(Math.random() * 50));
    }
    stack.signal('worker-1', 'SIGKILL');
    await stream.stop();
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.filter((e) => !COLLECTIONS.includes(e.collection))).toEqual([]);

    const swept = await cliJson<{ settled: number; dropped: number; examined: number }>(
      'markers',
      'sweep',
      '--older-than',
      '0',
    );
    expect(swept.settled + swept.dropped).toBeGreaterThanOrEqual(
      new Set(stale.map((e) => e.marker)).size,
    );
    expect(swept.settled).toBeGreaterThan(0);
    expect(await staleOfProject()).toEqual([]);
    let stored = 0;
    for (const collection of COLLECTIONS) {
      const docs = await stack.storedEvents(keys.id, collection);
      const counters = await stack.counterDoc(keys.id, collection);
      expect(counters?.pending ?? []).toEqual([]);
      // What the dead worker stored and claimed is counted. On Cassandra a
      // delivery writes an event's row before it claims its id: a row the
      // worker died before claiming is in the scan but not yet an event by
      // id, and is counted when the redelivery claims it (checked below).
      const { missingById } = await stack.storeAgreement(keys.id, collection, docs);
      const unclaimed = new Set(missingById);
      if (stack.store !== 'cassandra') expect(missingById).toEqual([]);
      expect(nonZeroCounters(counters?.counts)).toEqual(
        recountCounters(docs.filter((d) => !unclaimed.has(d._id))),
      );
      if (collection === COLLECTION) stored = docs.length - unclaimed.size;
    }
    const afterSweep = await stack.counterDoc(keys.id, COLLECTION);

    // A second sweep: nothing stale, nothing changed.
    expect(
      await cliJson<{ settled: number; dropped: number }>('markers', 'sweep', '--older-than', '0'),
    ).toEqual({ settled: 0, dropped: 0, examined: 0 });
    expect((await stack.counterDoc(keys.id, COLLECTION))?.counts).toEqual(afterSweep?.counts);

    // The worker again: the dead worker's jobs come back once their lock expires.
    await stack.startService('worker-1');
    const acknowledged = stream.acknowledged();
    const docs = await stack.waitForMarkers(keys.id, COLLECTION, acknowledged, 120_000);
    expect(compareStored(docs, acknowledged, stream.sent())).toEqual({
      missing: [],
      duplicated: [],
      unknown: [],
    });
    const final = await stack.counterDoc(keys.id, COLLECTION);
    expect(nonZeroCounters(final?.counts)).toEqual(recountCounters(docs));
    expect(final?.pending ?? []).toEqual([]);

    const workerMetrics = `http://127.0.0.1:${stack.ports.worker[0]}/metrics`;
    const gaugeZero = await waitFor(
      async () => (await scrape(workerMetrics)).scrape.value('tally_worker_markers_pending') === 0,
      10_000,
      250,
    );
    expect(gaugeZero).toBe(true);
    process.stdout.write(
      `marker-sweep: freezes=${freezes} stale entries=${stale.length} swept=${JSON.stringify(swept)} ` +
        `stored by the dead worker=${stored} ${stream.summary()}\n`,
    );
  });
});
