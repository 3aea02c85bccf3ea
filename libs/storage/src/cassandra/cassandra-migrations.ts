import { Client } from 'cassandra-driver';

/**
 * Versioned schema of the Cassandra event store. A migration is applied once
 * per keyspace and recorded in `schema_migrations`; its statements are also
 * idempotent (IF NOT EXISTS) so a migration interrupted half-way is simply
 * re-run. Never edit an applied migration: append a new version.
 */
export interface CassandraMigration {
  version: number;
  description: string;
  statements: string[];
}

export const CASSANDRA_MIGRATIONS: CassandraMigration[] = [
  {
    version: 1,
    description: 'events by (project, collection, bucket), by-id index, bucket list, settings',
    statements: [
      // One partition per (project, collection, time bucket): a timeframe reads
      // only its buckets, and a partition's size is bounded by the bucket width.
      `CREATE TABLE IF NOT EXISTS events (
         project text, collection text, bucket timestamp,
         ts timestamp, id text, body text,
         PRIMARY KEY ((project, collection, bucket), ts, id)
       ) WITH CLUSTERING ORDER BY (ts ASC, id ASC)`,
      // keen.id -> where the event row lives: lookups and deletes by id are
      // point reads, and the LWT on this row decides whether an id is new.
      // `claim` is the token of the insert call that won: a call whose LWT
      // timed out and is retried recognises its own earlier success.
      `CREATE TABLE IF NOT EXISTS events_by_id (
         project text, id text, collection text, bucket timestamp, ts timestamp, claim text,
         PRIMARY KEY ((project, id))
       )`,
      // Which buckets of a collection hold (or held) events: a scan lists the
      // buckets of its timeframe here instead of probing every possible one.
      `CREATE TABLE IF NOT EXISTS event_buckets (
         project text, collection text, bucket timestamp,
         PRIMARY KEY ((project, collection), bucket)
       ) WITH CLUSTERING ORDER BY (bucket ASC)`,
      // Settings the data depends on (the bucket width): fixed at first init.
      `CREATE TABLE IF NOT EXISTS store_settings (name text PRIMARY KEY, value text)`,
    ],
  },
  {
    version: 2,
    description: 'ids each delivery marker may claim, for settling a dead delivery exactly',
    statements: [
      // One partition per delivery marker, written before its claims and
      // dropped once its counters are applied: a later delivery that finds a
      // dead marker's claims settles it from ALL the events it claimed, not
      // only from those it carries itself (the worker may retry a job's
      // events in smaller groups). The TTL bounds what a marker never settled
      // leaves behind.
      `CREATE TABLE IF NOT EXISTS marker_events (
         project text, marker text, id text,
         PRIMARY KEY ((project, marker), id)
       ) WITH default_time_to_live = 2592000`,
    ],
  },
  {
    version: 3,
    description: 'by-id claims grouped into partitions, one Paxos round per partition of a write',
    statements: [
      // events_by_id gave every id its own partition, so a write of n new
      // events cost n Paxos rounds (about 1 ms of node CPU each). Here an id's
      // partition is claimPartition(id): its time window and one of 4 slots
      // (claim-partition.ts), so the ids of one write share a few partitions
      // and each is claimed by one conditional batch. events_by_id stays,
      // read-only, for ids claimed before this version (docs/cassandra.md).
      `CREATE TABLE IF NOT EXISTS event_claims (
         project text, part text, id text,
         collection text, bucket timestamp, ts timestamp, claim text,
         PRIMARY KEY ((project, part), id)
       )`,
    ],
  },
];

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY, description text, claimed_by text, claimed_at timestamp, applied_at timestamp
)`;

export interface MigrateOptions {
  /** Who runs the migration (process id): recorded with the claim. */
  runner: string;
  /** How long a claim by another runner is waited for before it is taken over (default 120 s). */
  claimTimeoutMs?: number;
  migrations?: CassandraMigration[];
}

/**
 * Applies pending migrations in version order. Concurrent starters (several
 * worker and query processes) claim each version with a lightweight
 * transaction so only one issues the DDL while the others wait for it to be
 * recorded; concurrent CREATE TABLE on different coordinators can otherwise
 * leave the cluster with conflicting table ids. Returns the versions applied.
 */
export async function migrate(client: Client, options: MigrateOptions): Promise<number[]> {
  const claimTimeoutMs = options.claimTimeoutMs ?? 120_000;
  await client.execute(MIGRATIONS_TABLE);
  const applied: number[] = [];
  for (const migration of options.migrations ?? CASSANDRA_MIGRATIONS) {
    const deadline = Date.now() + claimTimeoutMs;
    for (;;) {
      const row = (
        await client.execute(
          'SELECT claimed_by, claimed_at, applied_at FROM schema_migrations WHERE version = ?',
          [migration.version],
          {
            prepare: true,
          },
        )
      ).first();
      if (row?.applied_at) break;
      // A claim older than the timeout belongs to a runner that died mid-way:
      // take it over (conditionally, so only one waiter does).
      const stale =
        row !== null && Date.now() - (row.claimed_at as Date).getTime() > claimTimeoutMs;
      let mine = false;
      if (!row) {
        mine = (
          await client.execute(
            'INSERT INTO schema_migrations (version, description, claimed_by, claimed_at) VALUES (?, ?, ?, ?) IF NOT EXISTS',
            [migration.version, migration.description, options.runner, new Date()],
            { prepare: true },
          )
        ).wasApplied();
      } else if (stale) {
        mine = (
          await client.execute(
            'UPDATE schema_migrations SET claimed_by = ?, claimed_at = ? WHERE version = ? IF claimed_at = ?',
            [options.runner, new Date(), migration.version, row.claimed_at],
            { prepare: true },
          )
        ).wasApplied();
      }
      if (mine) {
        for (const statement of migration.statements) await client.execute(statement);
        await client.execute(
          'UPDATE schema_migrations SET applied_at = ? WHERE version = ?',
          [new Date(), migration.version],
          {
            prepare: true,
          },
        );
        applied.push(migration.version);
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `cassandra migration ${migration.version} is claimed by ${String(row?.claimed_by)} and not applied after ${claimTimeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  return applied;
}
