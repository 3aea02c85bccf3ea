import { notReadyReason } from '../ports/readiness.port';
import { CassandraEventStore } from './cassandra-event.store';
import { startTestCassandra, TestCassandra, testKeyspace } from './testing/test-cassandra';

jest.setTimeout(240_000);

const TIMEOUT_MS = 2000;

describe('Cassandra readiness probe', () => {
  let server: TestCassandra;
  let store: CassandraEventStore;

  beforeAll(async () => {
    server = await startTestCassandra();
    store = new CassandraEventStore({
      contactPoints: server.contactPoints,
      keyspace: testKeyspace('ready'),
    });
    await store.init();
  });

  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('answers while the node does', async () => {
    await expect(store.ping(TIMEOUT_MS)).resolves.toBeUndefined();
    expect(await notReadyReason([{ name: 'event store', probe: store }], TIMEOUT_MS)).toBeNull();
  });

  it('a closed client is not ready, named, within the timeout', async () => {
    await store.close();
    const t0 = Date.now();
    const reason = await notReadyReason([{ name: 'event store', probe: store }], TIMEOUT_MS);
    expect(reason).toMatch(/^Not ready: event store: /);
    expect(Date.now() - t0).toBeLessThan(TIMEOUT_MS + 1000);
  });
});
