import { Client, types } from 'cassandra-driver';

export interface CassandraStoreOptions {
  /** `host` or `host:port` entries (the driver's contact points). */
  contactPoints: string[];
  keyspace: string;
  /** Default `datacenter1` (a single-node or SimpleSnitch cluster). */
  localDataCenter?: string;
  /** Replication of a keyspace created by init(): SimpleStrategy with this factor (default 1). */
  replicationFactor?: number;
  /** Width of an event partition's time bucket (default one day); fixed for a keyspace at its first init. */
  bucketMs?: number;
  /** TCP connect timeout (default 2000 ms): short, so a down node is skipped fast. */
  connectTimeoutMs?: number;
  /** Per-request read timeout (default 20 000 ms): bounded, long enough for a page of a big partition. */
  readTimeoutMs?: number;
  /** Connections per local host (default 2); each carries up to 2048 concurrent requests on protocol v4. */
  connectionsPerHost?: number;
  /** Rows per page when reading partitions (default 1000). */
  pageSize?: number;
  /**
   * Time slices of partitions one scan reads in parallel (default 4), each at
   * most two pages ahead of the consumer (cassandra-partition.reader.ts).
   */
  scanConcurrency?: number;
  /** Concurrent requests per insert/delete call (default 64). */
  writeConcurrency?: number;
  /** Concurrent by-id LWTs per insert call (default 64): Paxos rounds are the costly part of an insert. */
  claimConcurrency?: number;
  /** Consistency for plain reads and writes (default LOCAL_QUORUM; LWTs use LOCAL_SERIAL). */
  consistency?: 'one' | 'localQuorum' | 'quorum';
  /** Called for every event partition a scan starts reading (partition-pruning checks, metrics). */
  onRead?: (read: PartitionRead) => void;
}

export interface PartitionRead {
  projectId: string;
  collection: string;
  /** Start of the partition's time bucket, epoch ms. */
  bucket: number;
}

const IDENTIFIER = /^[a-z][a-z0-9_]{0,47}$/;

export function assertIdentifier(name: string, what: string): string {
  if (!IDENTIFIER.test(name))
    throw new Error(`cassandra ${what} "${name}" must match ${IDENTIFIER}`);
  return name;
}

export function consistencyOf(option: CassandraStoreOptions['consistency']): number {
  switch (option ?? 'localQuorum') {
    case 'one':
      return types.consistencies.localOne;
    case 'quorum':
      return types.consistencies.quorum;
    default:
      return types.consistencies.localQuorum;
  }
}

/**
 * A driver client with deliberate limits: the driver's default read timeout
 * (12 s) and unbounded reconnection are fine, but a hung node must fail a call
 * quickly enough for the worker to retry its batch elsewhere, and a scan's page
 * must never wait forever. Protocol v4 is pinned: Cassandra 4 and 5 both speak
 * it, and the driver's paging and LWT result shapes are the ones used here.
 */
export function createClient(options: CassandraStoreOptions, keyspace?: string): Client {
  return new Client({
    contactPoints: options.contactPoints,
    localDataCenter: options.localDataCenter ?? 'datacenter1',
    keyspace,
    protocolOptions: { maxVersion: types.protocolVersion.v4 },
    socketOptions: {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      readTimeout: options.readTimeoutMs ?? 20_000,
      keepAlive: true,
      tcpNoDelay: true,
    },
    pooling: {
      coreConnectionsPerHost: {
        [types.distance.local]: options.connectionsPerHost ?? 2,
        [types.distance.remote]: 1,
      },
      maxRequestsPerConnection: 2048,
      heartBeatInterval: 10_000,
    },
    queryOptions: {
      consistency: consistencyOf(options.consistency),
      serialConsistency: types.consistencies.localSerial,
      prepare: true,
      fetchSize: options.pageSize ?? 1000,
    },
  });
}
