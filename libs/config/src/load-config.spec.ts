import { ConfigError, loadConfig } from './load-config';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig('standalone', {});
    expect(c.http.port).toBe(8080);
    expect(c.storage.kind).toBe('sqlite');
    expect(c.queue.kind).toBe('inline');
    expect(c.limits).toEqual({
      maxEventBytes: 1048576,
      maxRequestBytes: 10485760,
      maxBatchEvents: 5000,
      ingest: { eventsPerSecond: 0, bytesPerSecond: 0, burstSeconds: 2 },
    });
    expect(c.schema.maxProperties).toBe(1000);
  });

  it('names the bad variable', () => {
    expect(() => loadConfig('standalone', { PORT: 'eighty' })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig('standalone', { STORE: 'postgres' })).toThrow(/STORE must be one of/);
    expect(() => loadConfig('standalone', { TRUST_PROXY: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig('standalone', { SCHEMA_MAX_PROPERTIES: '0' })).toThrow(/SCHEMA_MAX_PROPERTIES must be an integer >= 1/);
    expect(loadConfig('standalone', { SCHEMA_MAX_PROPERTIES: '25' }).schema.maxProperties).toBe(25);
  });

  it('reads the saved query settings, naming a bad one', () => {
    expect(loadConfig('query', { STORE: 'mongo', QUEUE: 'redis' }).savedQueries).toEqual({
      refreshCheckMs: 60_000,
      maxPerProject: 1000,
    });
    const c = loadConfig('standalone', {
      SAVED_QUERY_REFRESH_CHECK_MS: '250',
      SAVED_QUERIES_MAX_PER_PROJECT: '3',
    });
    expect(c.savedQueries).toEqual({ refreshCheckMs: 250, maxPerProject: 3 });
    expect(() => loadConfig('standalone', { SAVED_QUERY_REFRESH_CHECK_MS: '10' })).toThrow(
      /SAVED_QUERY_REFRESH_CHECK_MS must be an integer >= 100/,
    );
    expect(() => loadConfig('standalone', { SAVED_QUERIES_MAX_PER_PROJECT: 'lots' })).toThrow(
      /SAVED_QUERIES_MAX_PER_PROJECT must be an integer/,
    );
  });

  it('reads the delete job and limit settings, naming a bad one', () => {
    expect(loadConfig('query', { STORE: 'mongo', QUEUE: 'redis' }).deletes).toEqual({
      jobThreshold: 10_000,
      jobBatchSize: 500,
      jobBatchPauseMs: 0,
      jobLeaseMs: 30_000,
      maxConcurrentPerProject: 2,
      ratePerMinute: 60,
      retentionSweepMs: 3_600_000,
    });
    const c = loadConfig('standalone', { DELETE_JOB_THRESHOLD: '0', DELETE_RATE_PER_MINUTE: '0' });
    expect([c.deletes.jobThreshold, c.deletes.ratePerMinute]).toEqual([0, 0]);
    expect(() => loadConfig('standalone', { DELETE_JOB_THRESHOLD: 'many' })).toThrow(/DELETE_JOB_THRESHOLD must be an integer/);
    expect(() => loadConfig('standalone', { DELETE_MAX_CONCURRENT_PER_PROJECT: '0' })).toThrow(
      /DELETE_MAX_CONCURRENT_PER_PROJECT must be an integer >= 1/,
    );
    expect(() => loadConfig('standalone', { DELETE_JOB_LEASE_MS: '10' })).toThrow(/DELETE_JOB_LEASE_MS/);
  });

  it('reads the readiness timeout and the worker HTTP port, naming a bad one', () => {
    const d = loadConfig('worker', { STORE: 'mongo' }).http;
    expect([d.readyTimeoutMs, d.workerHttpPort]).toEqual([2000, 9300]);
    const c = loadConfig('worker', { STORE: 'mongo', READY_TIMEOUT_MS: '750', WORKER_HTTP_PORT: '0' });
    expect([c.http.readyTimeoutMs, c.http.workerHttpPort]).toEqual([750, 0]);
    expect(() => loadConfig('query', { READY_TIMEOUT_MS: '0' })).toThrow(/READY_TIMEOUT_MS must be an integer >= 1/);
    expect(() => loadConfig('worker', { WORKER_HTTP_PORT: 'http' })).toThrow(/WORKER_HTTP_PORT must be an integer >= 0/);
  });

  it('holds up to 64 jobs per shard and 20,000 events at once, or WORKER_CONCURRENCY and WORKER_MAX_HELD_EVENTS', () => {
    expect(loadConfig('worker', { STORE: 'mongo' }).queue).toMatchObject({ workerConcurrency: 64, workerMaxHeldEvents: 20_000 });
    expect(loadConfig('worker', { STORE: 'cassandra' }).queue.workerConcurrency).toBe(64);
    expect(
      loadConfig('worker', { STORE: 'mongo', WORKER_CONCURRENCY: '8', WORKER_MAX_HELD_EVENTS: '500' }).queue,
    ).toMatchObject({ workerConcurrency: 8, workerMaxHeldEvents: 500 });
    expect(() => loadConfig('worker', { STORE: 'mongo', WORKER_CONCURRENCY: '0' })).toThrow(
      /WORKER_CONCURRENCY must be an integer >= 1/,
    );
    expect(() => loadConfig('worker', { STORE: 'mongo', WORKER_MAX_HELD_EVENTS: '0' })).toThrow(
      /WORKER_MAX_HELD_EVENTS must be an integer >= 1/,
    );
  });

  it('takes the MongoDB connect timeout from MONGO_CONNECT_TIMEOUT_MS (5 s by default)', () => {
    expect(loadConfig('worker', { STORE: 'mongo' }).storage.mongoConnectTimeoutMs).toBe(5000);
    expect(
      loadConfig('query', { STORE: 'mongo', MONGO_CONNECT_TIMEOUT_MS: '30000' }).storage
        .mongoConnectTimeoutMs,
    ).toBe(30_000);
    expect(() => loadConfig('query', { MONGO_CONNECT_TIMEOUT_MS: '10' })).toThrow(
      /MONGO_CONNECT_TIMEOUT_MS/,
    );
  });

  it('bounds what a Cassandra scan holds: partitions read at once and rows per page', () => {
    const defaults = loadConfig('query', { STORE: 'cassandra' }).storage;
    expect([defaults.cassandraScanConcurrency, defaults.cassandraPageSize]).toEqual([4, 1000]);
    const set = loadConfig('query', {
      STORE: 'cassandra',
      CASSANDRA_SCAN_CONCURRENCY: '8',
      CASSANDRA_PAGE_SIZE: '2000',
    }).storage;
    expect([set.cassandraScanConcurrency, set.cassandraPageSize]).toEqual([8, 2000]);
    for (const [name, value] of [
      ['CASSANDRA_SCAN_CONCURRENCY', '0'],
      ['CASSANDRA_SCAN_CONCURRENCY', '65'],
      ['CASSANDRA_PAGE_SIZE', '0'],
      ['CASSANDRA_PAGE_SIZE', '10001'],
    ]) {
      expect(() => loadConfig('query', { STORE: 'cassandra', [name]: value })).toThrow(
        new RegExp(`^${name} must be`),
      );
    }
  });

  it('reads the query caps and the stream deadline, naming a bad one', () => {
    const d = loadConfig('standalone', {}).query;
    expect([d.maxInValues, d.streamDeadlineMs]).toEqual([10_000, 600_000]);
    const c = loadConfig('query', { STORE: 'mongo', QUEUE: 'redis', QUERY_MAX_IN_VALUES: '50', QUERY_STREAM_DEADLINE_MS: '2500' });
    expect([c.query.maxInValues, c.query.streamDeadlineMs]).toEqual([50, 2500]);
    expect(() => loadConfig('standalone', { QUERY_MAX_IN_VALUES: '0' })).toThrow(/QUERY_MAX_IN_VALUES must be an integer >= 1/);
    expect(() => loadConfig('standalone', { QUERY_STREAM_DEADLINE_MS: 'forever' })).toThrow(/QUERY_STREAM_DEADLINE_MS/);
  });

  it("gives DuckDB 256 MiB unless told otherwise, at least 64 (the 1 GiB bound's share)", () => {
    expect(loadConfig('standalone', {}).query.columnar.memoryMb).toBe(256);
    expect(loadConfig('standalone', { QUERY_COLUMNAR_MEMORY_MB: '1024' }).query.columnar.memoryMb).toBe(1_024);
    expect(() => loadConfig('standalone', { QUERY_COLUMNAR_MEMORY_MB: '32' })).toThrow(
      /QUERY_COLUMNAR_MEMORY_MB must be an integer >= 64/,
    );
  });

  it('runs compiled queries at nice 10 unless told otherwise, within 0-19', () => {
    expect(loadConfig('standalone', {}).query.columnar.nice).toBe(10);
    expect(loadConfig('standalone', { QUERY_COLUMNAR_NICE: '0' }).query.columnar.nice).toBe(0);
    expect(loadConfig('standalone', { QUERY_COLUMNAR_NICE: '19' }).query.columnar.nice).toBe(19);
    expect(() => loadConfig('standalone', { QUERY_COLUMNAR_NICE: '20' })).toThrow(
      /QUERY_COLUMNAR_NICE must be an integer <= 19, got "20"/,
    );
    expect(() => loadConfig('standalone', { QUERY_COLUMNAR_NICE: '-5' })).toThrow(
      /QUERY_COLUMNAR_NICE must be an integer >= 0/,
    );
  });

  it("gives each project 1,000 of the columnar copy's 2,000 typed columns unless told otherwise", () => {
    expect(loadConfig('standalone', {}).query.columnar.projectColumns).toBe(1_000);
    expect(
      loadConfig('standalone', { QUERY_COLUMNAR_PROJECT_COLUMNS: '2000' }).query.columnar.projectColumns,
    ).toBe(2_000);
    expect(() => loadConfig('standalone', { QUERY_COLUMNAR_PROJECT_COLUMNS: '2001' })).toThrow(
      /QUERY_COLUMNAR_PROJECT_COLUMNS must be an integer <= 2000, got "2001"/,
    );
    expect(() => loadConfig('standalone', { QUERY_COLUMNAR_PROJECT_COLUMNS: '0' })).toThrow(
      /QUERY_COLUMNAR_PROJECT_COLUMNS must be an integer >= 1/,
    );
  });

  it('reads beacon redirect hosts and the SQLite size cap, naming a bad value', () => {
    const defaults = loadConfig('standalone', {});
    expect(defaults.http.beaconRedirectHosts).toEqual([]);
    expect(defaults.storage.sqliteMaxBytes).toBeUndefined();
    const c = loadConfig('standalone', {
      BEACON_REDIRECT_HOSTS: 'Shop.Example.com, *.example.org,xn--bcher-kva.example',
      SQLITE_MAX_BYTES: '1048576',
    });
    expect(c.http.beaconRedirectHosts).toEqual(['shop.example.com', '*.example.org', 'xn--bcher-kva.example']);
    expect(c.storage.sqliteMaxBytes).toBe(1048576);
    for (const bad of ['https://shop.example.com', 'shop.example.com/path', '*', 'a.*.com', 'bücher.example']) {
      expect(() => loadConfig('standalone', { BEACON_REDIRECT_HOSTS: bad })).toThrow(/BEACON_REDIRECT_HOSTS must list host names/);
    }
    expect(() => loadConfig('standalone', { SQLITE_MAX_BYTES: '1000' })).toThrow(/SQLITE_MAX_BYTES must be an integer >= 65536/);
  });

  it('takes ID_SECRET only when long enough to key the id hash, never echoing it', () => {
    const hex = 'a1'.repeat(32);
    expect(loadConfig('standalone', {}).idSecret).toBe('');
    expect(loadConfig('standalone', { ID_SECRET: '' }).idSecret).toBe('');
    expect(loadConfig('standalone', { ID_SECRET: hex }).idSecret).toBe(hex);
    expect(loadConfig('query', { STORE: 'mongo', ID_SECRET: 'x'.repeat(32) }).idSecret).toBe(
      'x'.repeat(32),
    );
    expect(
      loadConfig('worker', { STORE: 'mongo', ID_SECRET: '!#$%&()*+,-./:;<=>?@[]^_{|}~0123456789' })
        .idSecret,
    ).toHaveLength(38);
    for (const bad of [
      'q9',
      'short-secret',
      'x'.repeat(31),
      ` ${hex}`,
      `${hex}\n`,
      `${hex.slice(0, 40)} ${hex.slice(40)}`,
      `${hex}é`,
    ]) {
      let error: unknown;
      try {
        loadConfig('standalone', { ID_SECRET: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(
        /^ID_SECRET must be at least 32 printable ASCII characters/,
      );
      expect((error as Error).message).toContain(`got ${bad.length} characters`);
      expect((error as Error).message).not.toContain(bad.trim());
    }
  });

  it('refuses the inline queue for the ingest pool, which would write the store itself', () => {
    expect(() => loadConfig('ingest', { STORE: 'mongo' })).toThrow(ConfigError);
    expect(() => loadConfig('ingest', { STORE: 'mongo' })).toThrow(
      /^QUEUE must be redis for the ingest pool/,
    );
    expect(() => loadConfig('ingest', { STORE: 'cassandra', QUEUE: 'inline' })).toThrow(
      /QUEUE must be redis for the ingest pool/,
    );
    expect(loadConfig('ingest', { STORE: 'mongo', QUEUE: 'redis' }).queue.kind).toBe('redis');
    // Standalone and the CLI persist in their own process; the query pool never
    // enqueues and the worker consumes REDIS_URLS whatever QUEUE says.
    expect(loadConfig('standalone', {}).queue.kind).toBe('inline');
    expect(loadConfig('cli', { STORE: 'mongo' }).queue.kind).toBe('inline');
    expect(loadConfig('query', { STORE: 'mongo' }).queue.kind).toBe('inline');
    expect(loadConfig('worker', { STORE: 'mongo' }).queue.redisUrls).toEqual([
      'redis://127.0.0.1:6379',
    ]);
  });

  it('bounds the stale-marker sweep above the takeover window', () => {
    const d = loadConfig('worker', { STORE: 'mongo' }).queue;
    expect([d.markerSweepAfterMs, d.markerSweepIntervalMs]).toEqual([600_000, 60_000]);
    const c = loadConfig('worker', {
      STORE: 'mongo',
      MARKER_SWEEP_AFTER_MS: '120000',
      MARKER_SWEEP_INTERVAL_MS: '0',
    }).queue;
    expect([c.markerSweepAfterMs, c.markerSweepIntervalMs]).toEqual([120_000, 0]);
    // Younger markers may belong to deliveries still running (takeover: 60 s).
    expect(() => loadConfig('worker', { STORE: 'mongo', MARKER_SWEEP_AFTER_MS: '60000' })).toThrow(
      /MARKER_SWEEP_AFTER_MS must be an integer >= 120000/,
    );
  });

  it('parses lists', () => {
    const c = loadConfig('ingest', { QUEUE: 'redis', STORE: 'mongo', REDIS_URLS: 'redis://a:1, redis://b:2' });
    expect(c.queue.redisUrls).toEqual(['redis://a:1', 'redis://b:2']);
  });

  it('takes per-project write limits whose bucket holds the largest request', () => {
    const c = loadConfig('ingest', {
      QUEUE: 'redis',
      STORE: 'mongo',
      INGEST_EVENTS_PER_SECOND: '2500',
      INGEST_BYTES_PER_SECOND: '5242880',
      INGEST_BURST_SECONDS: '2',
    });
    expect(c.limits.ingest).toEqual({ eventsPerSecond: 2500, bytesPerSecond: 5242880, burstSeconds: 2 });
    // 1,000 events/s × 2 s cannot hold a 5,000-event batch: every full batch would be refused for ever.
    expect(() => loadConfig('standalone', { INGEST_EVENTS_PER_SECOND: '1000' })).toThrow(
      /INGEST_EVENTS_PER_SECOND × INGEST_BURST_SECONDS must be at least MAX_BATCH_EVENTS/,
    );
    expect(() => loadConfig('standalone', { INGEST_BYTES_PER_SECOND: '1000' })).toThrow(
      /INGEST_BYTES_PER_SECOND × INGEST_BURST_SECONDS must be at least MAX_REQUEST_BYTES/,
    );
    expect(() => loadConfig('standalone', { INGEST_EVENTS_PER_SECOND: '-5' })).toThrow(ConfigError);
    expect(loadConfig('standalone', { INGEST_EVENTS_PER_SECOND: '100', MAX_BATCH_EVENTS: '200' }).limits.ingest.eventsPerSecond).toBe(100);
  });

  it('sets the MongoDB write concern to a journaled majority unless told otherwise', () => {
    expect(loadConfig('worker', { STORE: 'mongo', QUEUE: 'redis' }).storage.mongoWriteConcern).toEqual({
      w: 'majority',
      journal: true,
    });
    expect(
      loadConfig('worker', { STORE: 'mongo', QUEUE: 'redis', MONGO_WRITE_CONCERN: '2', MONGO_JOURNAL: 'false' }).storage
        .mongoWriteConcern,
    ).toEqual({ w: 2, journal: false });
    expect(() => loadConfig('worker', { STORE: 'mongo', MONGO_WRITE_CONCERN: 'all' })).toThrow(
      /MONGO_WRITE_CONCERN must be "majority" or an integer >= 1/,
    );
  });
});
