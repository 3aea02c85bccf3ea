/** The whole configuration, read once from the environment at start-up. */
export type StoreKind = 'sqlite' | 'mongo' | 'cassandra';
export type QueueKind = 'inline' | 'redis';
export type Pool = 'standalone' | 'ingest' | 'query' | 'worker' | 'cli';

export interface TallyConfig {
  pool: Pool;
  http: {
    host: string;
    port: number;
    /** Trust x-request-id / x-request-start only when a proxy we run sets them. */
    trustProxy: boolean;
    /** Per-request deadline for enqueueing (ms); over it the answer is 503. */
    enqueueDeadlineMs: number;
    /**
     * Hosts a beacon's `redirect=` may send the browser to (BEACON_REDIRECT_HOSTS):
     * exact host names, or `*.example.com` for any subdomain. Empty: redirects
     * are refused, so the write URL is never an open redirect.
     */
    beaconRedirectHosts: string[];
    /**
     * Time a client has to send a whole request, body included (ms); a body
     * trickled in a byte at a time is cut off with 408 instead of holding a
     * connection for minutes.
     */
    requestTimeoutMs: number;
    /**
     * How long GET /readyz waits for each dependency of its process (a store,
     * the queue shards) to answer a cheap probe before it reports not ready.
     */
    readyTimeoutMs: number;
    /** The worker's health and metrics port (WORKER_HTTP_PORT, on `host`); 0: no HTTP. */
    workerHttpPort: number;
  };
  limits: {
    maxEventBytes: number;
    maxRequestBytes: number;
    maxBatchEvents: number;
    /** Per-project write limits (0: off), shared by the ingest processes of a split deployment. */
    ingest: {
      eventsPerSecond: number;
      bytesPerSecond: number;
      /** Seconds of the sustained rate a project may send at once after a quiet spell. */
      burstSeconds: number;
    };
  };
  storage: {
    kind: StoreKind;
    dataDir: string;
    /**
     * Largest size of the embedded SQLite database (SQLITE_MAX_BYTES); beyond it
     * writes answer 507 as on a full disk. Undefined: no cap (the disk is the limit).
     */
    sqliteMaxBytes?: number;
    mongoUrl: string;
    mongoDatabase: string;
    /**
     * Connect timeout of MongoDB connections, which the driver also uses as
     * its heartbeat timeout: a heartbeat that takes longer clears the pool and
     * fails every operation in flight. A down server is still detected by
     * server selection (2 s), so only a server too busy to answer waits longer.
     */
    mongoConnectTimeoutMs: number;
    /**
     * Write concern of every MongoDB write (events, counters, markers, metadata):
     * MONGO_WRITE_CONCERN `majority` (default) or a number of members, and
     * MONGO_JOURNAL (default true): acknowledged only once on disk, so a
     * mongod crash or failover cannot drop a write the worker took as done.
     */
    mongoWriteConcern: { w: number | 'majority'; journal: boolean };
    cassandraContactPoints: string[];
    cassandraKeyspace: string;
    /**
     * Time slices of partitions one scan reads at once (CASSANDRA_SCAN_CONCURRENCY,
     * default 4, at most 64), each at most two pages ahead of the consumer: a
     * scan holds at most about 3 x this x CASSANDRA_PAGE_SIZE rows whatever its
     * timeframe (docs/cassandra.md, Read path).
     */
    cassandraScanConcurrency: number;
    /** Rows per page of a partition read (CASSANDRA_PAGE_SIZE, default 1000, at most 10 000). */
    cassandraPageSize: number;
  };
  queue: {
    /**
     * QUEUE: `inline` (default) persists in the request's process (standalone, cli);
     * the ingest pool must use `redis`. The worker and the query pool do not read it.
     */
    kind: QueueKind;
    redisUrls: string[];
    /**
     * The worker's stale-marker sweep (docs/queue.md): write markers registered
     * longer ago than MARKER_SWEEP_AFTER_MS (default 10 min, at least 2 min:
     * well past the 60 s takeover bound) are settled from their stored events
     * or dropped, every MARKER_SWEEP_INTERVAL_MS (default 60 s; 0: never).
     */
    markerSweepAfterMs: number;
    markerSweepIntervalMs: number;
    /**
     * The worker writes the jobs it holds at once for one project as one
     * write of up to WORKER_BATCH_MAX_EVENTS events (default 5000; 0: each
     * job alone). See CoalescingPersister.
     */
    workerBatchMaxEvents: number;
    /**
     * Jobs the worker holds at once per Redis shard, at most
     * (WORKER_CONCURRENCY, default 64): what a combined write is made of
     * (docs/queue.md).
     */
    workerConcurrency: number;
    /**
     * Events the worker holds at once across its shards (WORKER_MAX_HELD_EVENTS,
     * default 20,000): at or over it, no more jobs are fetched. What bounds the
     * worker's memory when jobs are large.
     */
    workerMaxHeldEvents: number;
  };
  query: {
    /** A query running longer answers 504. */
    deadlineMs: number;
    /** Queries one project may run at once on one process; beyond: 429. */
    maxConcurrentPerProject: number;
    maxGroups: number;
    maxExtractionEvents: number;
    /** Values in one `in` filter list; beyond: 400. */
    maxInValues: number;
    /**
     * Wall-clock budget of one streamed extraction (extraction/stream), which
     * also holds one of its project's query slots for as long as it runs.
     */
    streamDeadlineMs: number;
    /** Results kept for `max_age` reuse. */
    cacheEntries: number;
    /**
     * The standalone server's columnar copy of its events (DuckDB), which
     * answers the queries it can compile exactly (docs/storage-engine.md).
     * QUERY_COLUMNAR=false: every query takes the TypeScript engine.
     */
    columnar: {
      enabled: boolean;
      /** DuckDB worker threads (QUERY_COLUMNAR_THREADS, default 1: ingest shares the cores). */
      threads: number;
      /**
       * The nice value (0–19) given to the threads DuckDB executes on
       * (QUERY_COLUMNAR_NICE, default 10): compiled queries yield the CPU to
       * ingest. 0 leaves them at the server's priority.
       */
      nice: number;
      /** DuckDB's memory limit in MiB (QUERY_COLUMNAR_MEMORY_MB); it spills to disk beyond it. */
      memoryMb: number;
      /**
       * Typed columns of the copy one project's collections may have values in
       * (QUERY_COLUMNAR_PROJECT_COLUMNS, default 1,000 of the table's 2,000):
       * past it the project's collection takes the TypeScript engine, and no
       * tenant can use up the columns every other tenant's properties need.
       */
      projectColumns: number;
    };
    /**
     * Queries MongoDB answers itself as aggregation pipelines where they
     * compile exactly (docs/query-language.md, "Where a query runs").
     * QUERY_MONGO_PIPELINES=false: every query takes the TypeScript engine.
     */
    mongoPipelines: boolean;
  };
  /**
   * The edge journal's retention, run by the ingest pool when JOURNAL_DIR
   * names the directory nginx writes its day files to (TALLY_JOURNAL_DIR):
   * day files older than JOURNAL_KEEP_DAYS are removed every
   * JOURNAL_SWEEP_INTERVAL_MS. Unset: the ingest pool leaves the journal alone.
   */
  journal: {
    dir?: string;
    keepDays: number;
    sweepIntervalMs: number;
  };
  deletes: {
    /**
     * A delete that reads more than this many events runs as a background job
     * (202 + status URL); up to it, it runs in the request (204).
     */
    jobThreshold: number;
    /** Events removed per batch (one unit of work) by a job. */
    jobBatchSize: number;
    /** Pause between a job's batches (ms), beyond the event-loop yield every batch gets. */
    jobBatchPauseMs: number;
    /** How long a job's owner may be silent before another query process takes the job over. */
    jobLeaseMs: number;
    /** Deletes (in requests and jobs) one project may run at once on one process; beyond: 429. */
    maxConcurrentPerProject: number;
    /** Delete requests per project per minute on one process (token bucket); 0: unlimited. */
    ratePerMinute: number;
    /**
     * How often a query process looks for events past their project's
     * retention (RETENTION_SWEEP_INTERVAL_MS); an event is removed at most this
     * long after it passed its TTL.
     */
    retentionSweepMs: number;
  };
  /** Saved and cached queries (docs/saved-queries.md). */
  savedQueries: {
    /**
     * How often a query process looks for cached queries due for a refresh
     * (SAVED_QUERY_REFRESH_CHECK_MS); a due query is computed at most this late.
     */
    refreshCheckMs: number;
    /** Saved queries one project may hold (SAVED_QUERIES_MAX_PER_PROJECT); a create past it is refused. */
    maxPerProject: number;
  };
  /** Cached datasets (docs/datasets.md). */
  datasets: {
    /**
     * How long a query process waits between maintenance rounds when there
     * was nothing to do (DATASET_REFRESH_MS): new events reach a dataset's
     * results within about this, plus the time to compute their buckets.
     */
    refreshMs: number;
    /** Buckets one process computes per round (DATASET_BUCKETS_PER_ROUND). */
    bucketsPerRound: number;
  };
  schema: {
    /** Largest collection an exact schema recount may scan; above it the recount is refused. */
    recountMaxEvents: number;
    /**
     * Distinct property paths per collection kept in the schema counters;
     * events beyond it are stored in full and the collection is flagged.
     */
    maxProperties: number;
  };
  /**
   * Server secret keying the keen.id hash, so clients cannot forge ids (ID_SECRET:
   * at least 32 printable ASCII characters, no spaces). Empty when unset.
   */
  idSecret: string;
  /** Emailed extractions (an extraction with `email`), run in the background by the query side. */
  extractionEmail: {
    /** Undefined when neither SMTP_URL nor SMTP_HOST is set: emailed extractions answer 400. */
    smtp?: SmtpConfig;
    /** An attachment larger than this (bytes, before compression) is sent gzip-compressed. */
    gzipAboveBytes: number;
    /** Largest extraction file (bytes, before compression); a larger one is not sent. */
    maxBytes: number;
    /** Emailed extractions one project may have running at once on one process; beyond: 429. */
    maxConcurrentPerProject: number;
  };
  /** How often the ingest key cache refreshes from the metadata store (ms). */
  keyCacheRefreshMs: number;
  logLevel: string;
}

/**
 * The SMTP transport of emailed extractions: SMTP_URL (smtp:// or smtps://, may
 * carry user and password), or SMTP_HOST with SMTP_PORT, SMTP_SECURE,
 * SMTP_USER and SMTP_PASSWORD. SMTP_FROM is the sender address either way.
 */
export interface SmtpConfig {
  url?: string;
  host?: string;
  port?: number;
  /** TLS from the first byte (port 465); false: plain, upgraded by STARTTLS when offered. */
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
}
