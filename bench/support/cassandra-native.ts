import { Client, types } from 'cassandra-driver';
import { lanes } from './timing';

/**
 * What Cassandra's own driver does best over the event store's tables
 * (`events`, one partition per project, collection and day; bodies are JSON
 * text): the baselines the Cassandra benchmarks print next to Tally's figures.
 */
export function rawCassandraClient(contactPoints: string[], keyspace: string): Client {
  return new Client({
    contactPoints,
    localDataCenter: 'datacenter1',
    keyspace,
    protocolOptions: { maxVersion: types.protocolVersion.v4 },
    queryOptions: { prepare: true, consistency: types.consistencies.localQuorum },
  });
}

/** The partitions a scan reads (4 at a time, as the store does). */
export interface PartitionSet {
  project: string;
  collection: string;
  buckets: Date[];
}

/** `SELECT count(*)` per partition: counts without shipping bodies. */
export async function countPerPartition(client: Client, set: PartitionSet): Promise<number> {
  let n = 0;
  await lanes(set.buckets, 4, async (bucket) => {
    const rs = await client.execute(
      'SELECT count(*) AS n FROM events WHERE project = ? AND collection = ? AND bucket = ?',
      [set.project, set.collection, bucket],
    );
    n += (rs.first().n as types.Long).toNumber();
  });
  return n;
}

/**
 * A paged read of every body with a client-side fold: CQL cannot filter or
 * group on a field inside a JSON text column, so this is the native best for
 * filtered counts and group_by.
 */
export async function foldBodies(
  client: Client,
  set: PartitionSet,
  visit: (body: Record<string, unknown>) => void,
): Promise<void> {
  await lanes(set.buckets, 4, async (bucket) => {
    let pageState: string | undefined;
    do {
      const rs = await client.execute(
        'SELECT body FROM events WHERE project = ? AND collection = ? AND bucket = ?',
        [set.project, set.collection, bucket],
        { fetchSize: 1000, pageState, autoPage: false },
      );
      for (const row of rs.rows) visit(JSON.parse(row.body as string) as Record<string, unknown>);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
  });
}

/** How a hand-written parallel read pages through a set of partitions. */
export interface ParallelReadOptions {
  /** Partitions read at once. */
  concurrency: number;
  /** Rows per page (`fetchSize`). */
  fetchSize: number;
}

/**
 * The best a careful user writes with the driver alone to fold every body of
 * a set of partitions: `concurrency` partitions paged at once, and within a
 * partition the next page is requested before the current one is decoded
 * (the paging state is all it needs), so a page is always on the wire while
 * JSON.parse runs. Pages are visited in arrival order.
 */
export async function readBodiesParallel(
  client: Client,
  set: PartitionSet,
  options: ParallelReadOptions,
  visit: (body: Record<string, unknown>) => void,
): Promise<void> {
  const query = 'SELECT body FROM events WHERE project = ? AND collection = ? AND bucket = ?';
  await lanes(set.buckets, options.concurrency, async (bucket) => {
    const params = [set.project, set.collection, bucket];
    const fetch = (pageState: string | undefined) =>
      client.execute(query, params, { fetchSize: options.fetchSize, pageState, autoPage: false });
    let next: Promise<types.ResultSet> | undefined = fetch(undefined);
    while (next) {
      const rs: types.ResultSet = await next;
      next = rs.pageState ? fetch(rs.pageState) : undefined;
      for (const row of rs.rows) visit(JSON.parse(row.body as string) as Record<string, unknown>);
    }
  });
}
