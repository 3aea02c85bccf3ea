import * as path from 'node:path';
import { isEmailAddress } from './email-address';
import { Pool, QueueKind, SmtpConfig, StoreKind, TallyConfig } from './tally-config';

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0, max = Infinity): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  if (value > max) throw new ConfigError(`${name} must be an integer <= ${max}, got "${raw}"`);
  return value;
}

/** Undefined when unset: a limit that is off unless configured. */
function optionalInt(env: Env, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  return int(env, name, 0, min);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** MONGO_WRITE_CONCERN: `majority` (default) or a whole number of members >= 1. */
function writeConcernW(env: Env): number | 'majority' {
  const raw = env.MONGO_WRITE_CONCERN;
  if (raw === undefined || raw === '' || raw === 'majority') return 'majority';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`MONGO_WRITE_CONCERN must be "majority" or an integer >= 1, got "${raw}"`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A host name (letters, digits, hyphens, dots; IDNs in punycode) or `*.` and one. */
const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function hostPatterns(env: Env, name: string): string[] {
  const patterns = list(env, name, []).map((p) => p.toLowerCase());
  for (const pattern of patterns) {
    if (!HOST_PATTERN.test(pattern)) {
      throw new ConfigError(
        `${name} must list host names or *.domain patterns (IDNs in punycode), got "${pattern}"`,
      );
    }
  }
  return patterns;
}

const MB = 1024 * 1024;

/** Shortest ID_SECRET accepted: 128 bits as hex (`openssl rand -hex 16`); 32 bytes as hex is 64. */
const ID_SECRET_MIN_LENGTH = 32;

/**
 * The key of the keen.id hash (ID_SECRET), when set. A client sees the ids of
 * its own events and every other input of the hash, so a short secret could be
 * found offline and ids forged: at least ID_SECRET_MIN_LENGTH characters of
 * printable ASCII, no spaces (a stray blank from a copy or an env file would
 * silently change every id). The message never echoes the value.
 */
function idSecret(env: Env): string {
  const raw = env.ID_SECRET;
  if (raw === undefined || raw === '') return '';
  if (raw.length < ID_SECRET_MIN_LENGTH || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new ConfigError(
      `ID_SECRET must be at least ${ID_SECRET_MIN_LENGTH} printable ASCII characters without spaces ` +
        `(e.g. openssl rand -hex 32), got ${raw.length} character${raw.length === 1 ? '' : 's'}` +
        (/^[\x21-\x7e]*$/.test(raw) ? '' : ' including a space, control or non-ASCII character'),
    );
  }
  return raw;
}

/**
 * The SMTP transport of emailed extractions, or undefined when neither SMTP_URL
 * nor SMTP_HOST is set (they are refused then, with a 400 naming these
 * settings). Messages name the setting at fault and never echo a URL or a
 * password, which may hold credentials.
 */
function smtp(env: Env): SmtpConfig | undefined {
  const url = env.SMTP_URL || undefined;
  const host = env.SMTP_HOST || undefined;
  const user = env.SMTP_USER || undefined;
  const password = env.SMTP_PASSWORD || undefined;
  if (!url && !host) {
    const stray = ['SMTP_PORT', 'SMTP_SECURE', 'SMTP_USER', 'SMTP_PASSWORD', 'SMTP_FROM'].find(
      (n) => env[n],
    );
    if (stray) throw new ConfigError(`${stray} is set but neither SMTP_URL nor SMTP_HOST is`);
    return undefined;
  }
  if (url && host) throw new ConfigError('set SMTP_URL or SMTP_HOST, not both');
  const from = env.SMTP_FROM;
  if (!isEmailAddress(from)) {
    throw new ConfigError(
      'SMTP_FROM must be one plain address (user@example.com) when SMTP is configured',
    );
  }
  if (url) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (
      !parsed ||
      (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') ||
      !parsed.hostname
    ) {
      throw new ConfigError(
        'SMTP_URL must be an smtp:// or smtps:// URL with a host (value not shown)',
      );
    }
    for (const name of ['SMTP_PORT', 'SMTP_SECURE', 'SMTP_USER', 'SMTP_PASSWORD']) {
      if (env[name])
        throw new ConfigError(`${name} cannot be combined with SMTP_URL (put it in the URL)`);
    }
    return { url, secure: parsed.protocol === 'smtps:', from };
  }
  if (Boolean(user) !== Boolean(password)) {
    throw new ConfigError('SMTP_USER and SMTP_PASSWORD are set together or not at all');
  }
  const secure = bool(env, 'SMTP_SECURE', false);
  const port = int(env, 'SMTP_PORT', secure ? 465 : 587, 1);
  if (port > 65535) throw new ConfigError(`SMTP_PORT must be at most 65535, got "${port}"`);
  return { host, port, secure, user, password, from };
}

/**
 * Validates the environment into a typed object. Nothing else reads
 * process.env; a bad value stops the process with a message naming it.
 */
export function loadConfig(pool: Pool, env: Env = process.env): TallyConfig {
  const storeKind = oneOf<StoreKind>(env, 'STORE', ['sqlite', 'mongo', 'cassandra'], 'sqlite');
  const queueKind = oneOf<QueueKind>(env, 'QUEUE', ['inline', 'redis'], 'inline');
  const dataDir = path.resolve(env.DATA_DIR || './data');
  const config: TallyConfig = {
    pool,
    http: {
      host: env.HOST || '127.0.0.1',
      port: int(env, 'PORT', 8080, 0),
      trustProxy: bool(env, 'TRUST_PROXY', false),
      enqueueDeadlineMs: int(env, 'ENQUEUE_DEADLINE_MS', 1000, 1),
      beaconRedirectHosts: hostPatterns(env, 'BEACON_REDIRECT_HOSTS'),
      requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 100),
      readyTimeoutMs: int(env, 'READY_TIMEOUT_MS', 2000, 1),
      workerHttpPort: int(env, 'WORKER_HTTP_PORT', 9300, 0),
    },
    limits: {
      maxEventBytes: int(env, 'MAX_EVENT_BYTES', 1 * MB, 1),
      maxRequestBytes: int(env, 'MAX_REQUEST_BYTES', 10 * MB, 1),
      maxBatchEvents: int(env, 'MAX_BATCH_EVENTS', 5000, 1),
      ingest: {
        eventsPerSecond: int(env, 'INGEST_EVENTS_PER_SECOND', 0, 0),
        bytesPerSecond: int(env, 'INGEST_BYTES_PER_SECOND', 0, 0),
        burstSeconds: int(env, 'INGEST_BURST_SECONDS', 2, 1),
      },
    },
    storage: {
      kind: storeKind,
      dataDir,
      sqliteMaxBytes: optionalInt(env, 'SQLITE_MAX_BYTES', 64 * 1024),
      mongoUrl: env.MONGO_URL || 'mongodb://127.0.0.1:27017',
      mongoDatabase: env.MONGO_DATABASE || 'tally',
      mongoConnectTimeoutMs: int(env, 'MONGO_CONNECT_TIMEOUT_MS', 5000, 100),
      mongoWriteConcern: {
        w: writeConcernW(env),
        journal: bool(env, 'MONGO_JOURNAL', true),
      },
      cassandraContactPoints: list(env, 'CASSANDRA_CONTACT_POINTS', ['127.0.0.1:9042']),
      cassandraKeyspace: env.CASSANDRA_KEYSPACE || 'tally',
      cassandraScanConcurrency: int(env, 'CASSANDRA_SCAN_CONCURRENCY', 4, 1),
      cassandraPageSize: int(env, 'CASSANDRA_PAGE_SIZE', 1000, 1),
    },
    queue: {
      kind: queueKind,
      redisUrls: list(env, 'REDIS_URLS', ['redis://127.0.0.1:6379']),
      markerSweepAfterMs: int(env, 'MARKER_SWEEP_AFTER_MS', 600_000, 120_000),
      markerSweepIntervalMs: int(env, 'MARKER_SWEEP_INTERVAL_MS', 60_000),
      workerBatchMaxEvents: int(env, 'WORKER_BATCH_MAX_EVENTS', 5000, 0),
      workerConcurrency: int(env, 'WORKER_CONCURRENCY', 64, 1),
      workerMaxHeldEvents: int(env, 'WORKER_MAX_HELD_EVENTS', 20_000, 1),
    },
    query: {
      deadlineMs: int(env, 'QUERY_DEADLINE_MS', 60_000, 1),
      maxConcurrentPerProject: int(env, 'QUERY_CONCURRENCY_PER_PROJECT', 4, 1),
      maxGroups: int(env, 'QUERY_MAX_GROUPS', 10_000, 1),
      maxExtractionEvents: int(env, 'QUERY_MAX_EXTRACTION_EVENTS', 100_000, 1),
      maxInValues: int(env, 'QUERY_MAX_IN_VALUES', 10_000, 1),
      streamDeadlineMs: int(env, 'QUERY_STREAM_DEADLINE_MS', 600_000, 1),
      cacheEntries: int(env, 'QUERY_CACHE_ENTRIES', 1000, 0),
      columnar: {
        enabled: bool(env, 'QUERY_COLUMNAR', true),
        threads: int(env, 'QUERY_COLUMNAR_THREADS', 1, 1),
        nice: int(env, 'QUERY_COLUMNAR_NICE', 10, 0, 19),
        memoryMb: int(env, 'QUERY_COLUMNAR_MEMORY_MB', 256, 64),
        projectColumns: int(env, 'QUERY_COLUMNAR_PROJECT_COLUMNS', 1_000, 1, 2_000),
      },
      mongoPipelines: bool(env, 'QUERY_MONGO_PIPELINES', true),
    },
    journal: {
      dir: env.JOURNAL_DIR || undefined,
      keepDays: int(env, 'JOURNAL_KEEP_DAYS', 7, 1),
      sweepIntervalMs: int(env, 'JOURNAL_SWEEP_INTERVAL_MS', 3_600_000, 1_000),
    },
    deletes: {
      jobThreshold: int(env, 'DELETE_JOB_THRESHOLD', 10_000, 0),
      jobBatchSize: int(env, 'DELETE_JOB_BATCH_SIZE', 500, 1),
      jobBatchPauseMs: int(env, 'DELETE_JOB_BATCH_PAUSE_MS', 0, 0),
      jobLeaseMs: int(env, 'DELETE_JOB_LEASE_MS', 30_000, 100),
      maxConcurrentPerProject: int(env, 'DELETE_MAX_CONCURRENT_PER_PROJECT', 2, 1),
      ratePerMinute: int(env, 'DELETE_RATE_PER_MINUTE', 60, 0),
      retentionSweepMs: int(env, 'RETENTION_SWEEP_INTERVAL_MS', 3_600_000, 1_000),
    },
    savedQueries: {
      refreshCheckMs: int(env, 'SAVED_QUERY_REFRESH_CHECK_MS', 60_000, 100),
      maxPerProject: int(env, 'SAVED_QUERIES_MAX_PER_PROJECT', 1000, 1),
    },
    datasets: {
      refreshMs: int(env, 'DATASET_REFRESH_MS', 5_000, 50),
      bucketsPerRound: int(env, 'DATASET_BUCKETS_PER_ROUND', 50, 1),
    },
    schema: {
      recountMaxEvents: int(env, 'SCHEMA_RECOUNT_MAX_EVENTS', 100_000, 0),
      maxProperties: int(env, 'SCHEMA_MAX_PROPERTIES', 1000, 1),
    },
    idSecret: idSecret(env),
    extractionEmail: {
      smtp: smtp(env),
      gzipAboveBytes: int(env, 'EXTRACTION_EMAIL_GZIP_BYTES', 1 * MB, 0),
      maxBytes: int(env, 'EXTRACTION_EMAIL_MAX_BYTES', 20 * MB, 1),
      maxConcurrentPerProject: int(env, 'EXTRACTION_EMAIL_CONCURRENCY_PER_PROJECT', 2, 1),
    },
    keyCacheRefreshMs: int(env, 'KEY_CACHE_REFRESH_MS', 2000, 10),
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
  };
  if (config.limits.maxEventBytes > config.limits.maxRequestBytes) {
    throw new ConfigError('MAX_EVENT_BYTES must not exceed MAX_REQUEST_BYTES');
  }
  // A request bigger than a full bucket could never be admitted: refuse the
  // configuration instead of answering 429 to every full batch for ever.
  const ingest = config.limits.ingest;
  if (
    ingest.eventsPerSecond > 0 &&
    ingest.eventsPerSecond * ingest.burstSeconds < config.limits.maxBatchEvents
  ) {
    throw new ConfigError(
      'INGEST_EVENTS_PER_SECOND × INGEST_BURST_SECONDS must be at least MAX_BATCH_EVENTS (a full batch must fit the bucket)',
    );
  }
  if (
    ingest.bytesPerSecond > 0 &&
    ingest.bytesPerSecond * ingest.burstSeconds < config.limits.maxRequestBytes
  ) {
    throw new ConfigError(
      'INGEST_BYTES_PER_SECOND × INGEST_BURST_SECONDS must be at least MAX_REQUEST_BYTES (the largest request must fit the bucket)',
    );
  }
  // A scan holds up to ~2 pages per partition it reads: both knobs bound its memory.
  if (config.storage.cassandraScanConcurrency > 64) {
    throw new ConfigError(
      `CASSANDRA_SCAN_CONCURRENCY must be at most 64, got "${config.storage.cassandraScanConcurrency}"`,
    );
  }
  if (config.storage.cassandraPageSize > 10_000) {
    throw new ConfigError(
      `CASSANDRA_PAGE_SIZE must be at most 10000, got "${config.storage.cassandraPageSize}"`,
    );
  }
  if (queueKind === 'redis' && config.queue.redisUrls.length === 0) {
    throw new ConfigError('REDIS_URLS must list at least one redis:// URL when QUEUE=redis');
  }
  // An ingest process with the inline queue would write the store itself, bypassing
  // the worker (and its dedupe, schema counters and dead letters). The query pool
  // never enqueues and the worker always consumes REDIS_URLS, so neither reads QUEUE.
  if (pool === 'ingest' && queueKind === 'inline') {
    throw new ConfigError(
      'QUEUE must be redis for the ingest pool (QUEUE=inline, the default, is for the standalone and cli ' +
        'processes only: the ingest pool enqueues for the worker); set QUEUE=redis and REDIS_URLS',
    );
  }
  if (pool !== 'standalone' && pool !== 'cli' && storeKind === 'sqlite' && queueKind === 'redis') {
    throw new ConfigError(
      'STORE=sqlite cannot be shared by separate processes; use STORE=mongo or cassandra',
    );
  }
  return config;
}
