/**
 * Per-project write limits in the split deployment: the buckets live on the
 * Redis shards, so two ingest processes hit at once by the same project admit
 * one budget between them, not one each. Refused requests are a Keen-shaped
 * 429 with Retry-After and store nothing; another project is unaffected;
 * every acknowledged event is stored once and the counters equal a recount.
 * Runs on either event store.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http, HttpResult } from '../support/http';
import {
  compareStored,
  ProjectKeys,
  SplitStack,
  STACK_START_TIMEOUT_MS,
} from '../support/split-stack';

jest.setTimeout(300_000);

const RATE = 500;
const BURST_SECONDS = 2;

describe('split deployment: per-project write limits shared by the ingest processes', () => {
  let stack: SplitStack;
  let noisy: ProjectKeys;
  let quiet: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start({
      env: {
        INGEST_EVENTS_PER_SECOND: String(RATE),
        INGEST_BURST_SECONDS: String(BURST_SECONDS),
        MAX_BATCH_EVENTS: '1000',
      },
    });
    noisy = await stack.createProject('rate-noisy');
    quiet = await stack.createProject('rate-quiet');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('admits one budget across both ingest processes, answers 429 past it, and spares other projects', async () => {
    // createProject's probe writes spent some of the budget: let it refill.
    await new Promise((r) => setTimeout(r, BURST_SECONDS * 1000 + 200));
    const bucket = RATE * BURST_SECONDS;
    // 2 × 20 batches of 50 events, sent at once, half to each ingest process:
    // 2,000 events against a 1,000-event bucket. Two separate per-process
    // buckets would admit all of them.
    const batches = Array.from({ length: 40 }, (_, b) =>
      Array.from({ length: 50 }, (_, i) => ({ marker: `rl-${b}-${i}` })),
    );
    const t0 = Date.now();
    const answers = await Promise.all(
      batches.map((events, b) =>
        http(
          'POST',
          `http://127.0.0.1:${stack.ports.ingest[b % 2]}/3.0/projects/${noisy.id}/events`,
          { body: { limited: events }, key: noisy.write_key },
        ),
      ),
    );
    const elapsedS = (Date.now() - t0) / 1000;
    const acked = answers.flatMap((r, b) => (r.status === 200 ? batches[b] : []));
    const refused = answers.filter((r) => r.status === 429) as HttpResult[];
    process.stdout.write(
      `rate-limit split: sent=2000 acked=${acked.length} refused=${refused.length * 50} in ${elapsedS.toFixed(2)} s; per ingest: ${[0, 1]
        .map((p) => answers.filter((r, b) => b % 2 === p && r.status === 200).length * 50)
        .join('/')}\n`,
    );
    expect(answers.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    // One shared budget: the bucket plus what refilled while the burst was sent.
    expect(acked.length).toBeGreaterThanOrEqual(bucket - 50);
    expect(acked.length).toBeLessThanOrEqual(bucket + Math.ceil(elapsedS * RATE) + 50);
    expect(acked.length).toBeLessThan(2000);
    for (const r of refused) {
      expect(r.body).toMatchObject({ error_code: 'RateLimitExceededError' });
      expect(r.body.message).toContain(`is over its write limit of ${RATE} events per second`);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Both processes took part in the refusals (the budget is not per process).
    for (const p of [0, 1])
      expect(answers.filter((r, b) => b % 2 === p && r.status === 429).length).toBeGreaterThan(0);

    // The other project writes its whole burst through nginx meanwhile.
    const calm = Array.from({ length: 900 }, (_, i) => ({ marker: `calm-${i}` }));
    const quietAnswer = await http('POST', `${stack.baseUrl}/3.0/projects/${quiet.id}/events`, {
      body: { calm },
      key: quiet.write_key,
    });
    expect(quietAnswer.status).toBe(200);

    // Stored: exactly the acknowledged events (a refused one would be "unknown").
    const ackedMarkers = acked.map((e) => e.marker);
    const docs = await stack.waitForMarkers(noisy.id, 'limited', ackedMarkers, 120_000);
    expect(compareStored(docs, ackedMarkers, ackedMarkers)).toEqual({
      missing: [],
      duplicated: [],
      unknown: [],
    });
    expect(docs).toHaveLength(acked.length);
    const counters = await stack.counterDoc(noisy.id, 'limited');
    expect(nonZeroCounters(counters?.counts)).toEqual(recountCounters(docs));
    const calmDocs = await stack.waitForMarkers(
      quiet.id,
      'calm',
      calm.map((e) => e.marker),
      120_000,
    );
    expect(calmDocs).toHaveLength(900);
  });
});
