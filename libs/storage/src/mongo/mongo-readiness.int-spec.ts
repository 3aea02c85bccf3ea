import { notReadyReason } from '../ports/readiness.port';
import { MongoConnection } from './mongo-connection';
import { MongoEventStore } from './mongo-event.store';
import { MongoMetadataStore } from './mongo-metadata.store';
import { startTestMongo, TestMongo } from './testing/test-mongo';

jest.setTimeout(120_000);

const TIMEOUT_MS = 800;
// Slack for a loaded machine: the answer must come at the timeout, not at a driver timeout (2 s, 30 s).
const SLACK_MS = 700;

async function timed<T>(call: Promise<T>): Promise<{ ms: number; outcome: T | Error }> {
  const t0 = Date.now();
  const outcome = await call.catch((error: Error) => error);
  return { ms: Date.now() - t0, outcome };
}

describe('MongoDB readiness probes (Mongo-wire server)', () => {
  let mongo: TestMongo;
  let connection: MongoConnection;
  let events: MongoEventStore;
  let metadata: MongoMetadataStore;
  let checks: { name: string; probe: MongoEventStore | MongoMetadataStore }[];

  beforeAll(async () => {
    mongo = await startTestMongo();
    connection = new MongoConnection({ url: mongo.url, database: `ready_${process.pid}` });
    events = new MongoEventStore({ connection });
    metadata = new MongoMetadataStore({ connection });
    await Promise.all([events.init(), metadata.init()]);
    checks = [
      { name: 'event store', probe: events },
      { name: 'metadata store', probe: metadata },
    ];
  });

  afterAll(async () => {
    await mongo?.stop();
    await connection?.close();
  });

  it('answers while the server does', async () => {
    await expect(events.ping(TIMEOUT_MS)).resolves.toBeUndefined();
    await expect(metadata.ping(TIMEOUT_MS)).resolves.toBeUndefined();
    expect(await notReadyReason(checks, TIMEOUT_MS)).toBeNull();
  });

  it('a SIGSTOPped server (accepts TCP, never answers) is "not ready" within the timeout, probe after probe', async () => {
    mongo.pause();
    try {
      for (let round = 0; round < 3; round++) {
        const probe = await timed(events.ping(TIMEOUT_MS));
        expect((probe.outcome as Error).message).toBe(
          `the MongoDB event store did not answer within ${TIMEOUT_MS} ms`,
        );
        expect(probe.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      }
      const both = await timed(notReadyReason(checks, TIMEOUT_MS));
      expect(both.outcome).toBe(
        `Not ready: event store: the MongoDB event store did not answer within ${TIMEOUT_MS} ms; ` +
          `metadata store: the MongoDB metadata store did not answer within ${TIMEOUT_MS} ms`,
      );
      expect(both.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    } finally {
      mongo.resume();
    }
  });

  it('answers again once the server resumes', async () => {
    const deadline = Date.now() + 30_000;
    let reason: string | null = 'not probed';
    while (Date.now() < deadline) {
      reason = await notReadyReason(checks, TIMEOUT_MS);
      if (reason === null) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(reason).toBeNull();
  });

  it('a stopped server is "not ready" within the timeout', async () => {
    await mongo.stop();
    const probe = await timed(notReadyReason(checks, TIMEOUT_MS));
    expect(probe.outcome).toBe(
      `Not ready: event store: the MongoDB event store did not answer within ${TIMEOUT_MS} ms; ` +
        `metadata store: the MongoDB metadata store did not answer within ${TIMEOUT_MS} ms`,
    );
    expect(probe.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });
});
