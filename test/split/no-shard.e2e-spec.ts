/**
 * Acceptance 3 (docs/design.md, lesson 4): with no healthy queue shard the API answers
 * 503 with Retry-After within the enqueue deadline and never a 2xx; once the
 * shards are back, ingestion resumes and nothing acknowledged is missing.
 * Both ways a shard goes away: hung (SIGSTOP) and stopped (connection refused).
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
  waitFor,
} from '../support/split-stack';

jest.setTimeout(600_000);

const DEADLINE_MS = 1000;
const MARGIN_MS = 500;

describe('split deployment: no Redis shard available', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  let stream: EventStream;

  beforeAll(async () => {
    stack = await SplitStack.start({ env: { ENQUEUE_DEADLINE_MS: String(DEADLINE_MS) } });
    keys = await stack.createProject('no-shard');
    stream = new EventStream({
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: 'noshard',
      runId: 'noshard',
      concurrency: 4,
      pauseMs: 10,
    });
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stream?.stop();
    await stack?.stop();
  });

  /** Requests started inside [from, to): none may be acknowledged, each a quick 503 with Retry-After. */
  function expectOutageAnswers(from: number, to: number, label: string): void {
    const during = stream.requests.filter((r) => r.startedAt >= from && r.startedAt < to);
    const statuses: Record<number, number> = {};
    for (const r of during) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const maxMs = Math.round(during.reduce((m, r) => Math.max(m, r.ms), 0));
    process.stdout.write(
      `no-shard ${label}: requests=${during.length} statuses=${JSON.stringify(statuses)} maxMs=${maxMs}\n`,
    );
    expect(during.length).toBeGreaterThan(20);
    expect(statuses).toEqual({ 503: during.length });
    for (const r of during) {
      expect(r.acked).toEqual([]);
      expect(r.retryAfter).toMatch(/^\d+$/);
    }
    expect(maxMs).toBeLessThanOrEqual(DEADLINE_MS + MARGIN_MS);
  }

  /**
   * What was acknowledged so far reaches the store (the worker consumes the
   * recovered shards too). The stream is still writing, so the queue is never
   * empty: the wait is for these events alone (not `settled`, which also
   * waits for an empty queue and is for the final check, after the stream).
   */
  async function expectAcknowledgedStored(label: string): Promise<void> {
    const acknowledged = stream.acknowledged();
    const t0 = Date.now();
    const docs = await stack.waitForMarkers(keys.id, 'noshard', acknowledged, 90_000, false);
    const diff = compareStored(docs, acknowledged, stream.sent());
    process.stdout.write(
      `no-shard ${label}: acknowledged=${acknowledged.length} stored=${docs.length} missing=${diff.missing.length} after ${Date.now() - t0} ms\n`,
    );
    expect(diff.missing.length).toBe(0);
    expect(diff.duplicated).toEqual([]);
  }

  async function expectResumes(label: string): Promise<void> {
    const back = Date.now();
    const resumed = await waitFor(
      async () => stream.requests.some((r) => r.startedAt >= back && r.status === 201),
      30_000,
      100,
    );
    process.stdout.write(`no-shard ${label}: first 201 after ${Date.now() - back} ms\n`);
    expect(resumed).toBe(true);
  }

  it('both shards hung (SIGSTOP): quick 503s, then ingestion resumes after SIGCONT', async () => {
    stream.start();
    await sleep(2_000);
    stack.signal('redis-1', 'SIGSTOP');
    stack.signal('redis-2', 'SIGSTOP');
    const from = Date.now();
    await sleep(6_000);
    const to = Date.now();
    stack.signal('redis-1', 'SIGCONT');
    stack.signal('redis-2', 'SIGCONT');
    expectOutageAnswers(from, to, 'SIGSTOP');
    await expectResumes('SIGCONT');
    await sleep(2_000);
    await expectAcknowledgedStored('after SIGCONT');
  });

  it('both shards stopped: quick 503s, then ingestion resumes after they start again', async () => {
    await sleep(2_000);
    await Promise.all([stack.stopService('redis-1'), stack.stopService('redis-2')]);
    const from = Date.now();
    await sleep(6_000);
    const to = Date.now();
    await Promise.all([stack.startService('redis-1'), stack.startService('redis-2')]);
    expectOutageAnswers(from, to, 'stopped');
    await expectResumes('restarted');
    await sleep(2_000);
    await expectAcknowledgedStored('after restart');
  });

  it('nothing acknowledged is missing or doubled', async () => {
    await stream.stop();
    const acknowledged = stream.acknowledged();
    const docs = await stack.waitForMarkers(keys.id, 'noshard', acknowledged, 90_000);
    const diff = compareStored(docs, acknowledged, stream.sent());
    process.stdout.write(`no-shard: ${stream.summary()} stored=${docs.length}\n`);
    // Stored although the client was told 503 (a timed-out add that landed later): allowed,
    // but reported, since a client retry of such a request stores the events a second time.
    const storedMarkers = new Set(docs.map((d) => d.e.marker as string));
    const storedUnacked: Record<string, number> = {};
    for (const r of stream.requests) {
      if (r.acked.length || !r.markers.some((m) => storedMarkers.has(m))) continue;
      const key = `${r.status} ${r.error?.slice(12, 60) ?? ''}`;
      storedUnacked[key] = (storedUnacked[key] ?? 0) + 1;
    }
    process.stdout.write(
      `no-shard: stored but not acknowledged, by answer: ${JSON.stringify(storedUnacked)}\n`,
    );
    expect(diff).toEqual({ missing: [], duplicated: [], unknown: [] });
    // Field for field, and counters equal to a recount of what is stored.
    expect(bodiesNotAsSent(docs)).toEqual([]);
    expect(nonZeroCounters((await stack.counterDoc(keys.id, 'noshard'))?.counts)).toEqual(
      recountCounters(docs),
    );
    expect(await stack.storeAgreement(keys.id, 'noshard', docs)).toEqual(STORE_AGREES);
    // Only 201 and 503 ever: no 502/504 from nginx, no client timeouts.
    for (const r of stream.requests) expect([201, 503]).toContain(r.status);
  });
});
