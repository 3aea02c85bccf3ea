import { setTimeout as sleep } from 'node:timers/promises';
import { Client, errors, types } from 'cassandra-driver';
import { CollectionEvent, JsonObject, parseJsonText } from '@app/events';
import { chunks, groupBy, mapBounded } from './bounded-concurrency';
import { claimPartition } from './claim-partition';
import { CQL } from './cassandra-queries';

// Rows per UNLOGGED batch. Every batch targets one partition, which Cassandra
// exempts from its batch-size limits (CASSANDRA-10876); the cap keeps one
// request's size and its coordinator work modest.
const BATCH_ROWS = 100;
const BATCH_BYTES = 512 * 1024;
const CLAIM_ATTEMPTS = 4;
// Claims per conditional batch (one partition, one Paxos round): a claim row
// is about 100 bytes, so a batch stays near 10 KB.
const CLAIM_ROWS = 100;

/**
 * The write half of an insert: bucket rows, event rows, then the claims.
 * The order is the safety argument (see CassandraEventStore, docs/cassandra.md).
 */
export class CassandraEventWriter {
  constructor(
    private readonly client: Client,
    private readonly bucketOf: (timestamp: number) => number,
    private readonly writeConcurrency: number,
    private readonly claimConcurrency: number,
  ) {}

  /**
   * Upserted for every insert, never cached: another process may drop the
   * collection (and its bucket list) at any time, and a missing bucket row
   * would hide its events from every scan.
   */
  async writeBuckets(projectId: string, events: CollectionEvent[]): Promise<void> {
    const keys = new Map<string, [string, number]>();
    for (const e of events)
      keys.set(`${e.collection}\u0000${this.bucketOf(e.timestamp)}`, [
        e.collection,
        this.bucketOf(e.timestamp),
      ]);
    await mapBounded([...keys.values()], this.writeConcurrency, ([collection, bucket]) =>
      this.client.execute(CQL.bucket, [projectId, collection, new Date(bucket)]),
    );
  }

  /** Event rows grouped per partition into UNLOGGED single-partition batches. */
  async writeRows(projectId: string, events: CollectionEvent[]): Promise<void> {
    const partitions = groupBy(events, (e) => `${e.collection}\u0000${this.bucketOf(e.timestamp)}`);
    const batches: Array<Array<{ query: string; params: unknown[] }>> = [];
    for (const list of partitions.values()) {
      let batch: Array<{ query: string; params: unknown[] }> = [];
      let bytes = 0;
      for (const e of list) {
        const body = JSON.stringify(e.event);
        if (batch.length > 0 && (batch.length >= BATCH_ROWS || bytes + body.length > BATCH_BYTES)) {
          batches.push(batch);
          batch = [];
          bytes = 0;
        }
        batch.push({
          query: CQL.row,
          params: this.rowParams(projectId, e, body),
        });
        bytes += body.length;
      }
      batches.push(batch);
    }
    await mapBounded(batches, this.writeConcurrency, (batch) =>
      batch.length === 1
        ? this.client.execute(batch[0].query, batch[0].params)
        : this.client.batch(batch, { prepare: true, logged: false }),
    );
  }

  /**
   * Rows of events named by a uniqueness token, whose copies share an id and
   * may differ in body: one LWT each, so the first copy written keeps the row
   * and no later copy overwrites it between its write and its (lost) claim.
   * Returns, per id, the body of another copy found in the row: the caller
   * claims and counts that body, which is the one stored.
   */
  async writeRowsIfAbsent(
    projectId: string,
    events: CollectionEvent[],
  ): Promise<Map<string, JsonObject>> {
    const found = new Map<string, JsonObject>();
    await mapBounded(events, this.writeConcurrency, async (e) => {
      const body = JSON.stringify(e.event);
      // Retried like the claim: a timed-out attempt that was applied leaves
      // this very body in the row, which the retry reads as its own.
      const rs = await retryUnknownOutcome(() =>
        this.client.execute(CQL.rowIfAbsent, this.rowParams(projectId, e, body)),
      );
      if (rs.wasApplied()) return;
      const stored = rs.first().body as string;
      if (stored !== body)
        found.set(e.id, parseJsonText(stored, 'A stored event body') as JsonObject);
    });
    return found;
  }

  /** An event row's values, in the order of CQL.row and CQL.rowIfAbsent. */
  private rowParams(projectId: string, e: CollectionEvent, body: string): unknown[] {
    return [
      projectId,
      e.collection,
      new Date(this.bucketOf(e.timestamp)),
      new Date(e.timestamp),
      e.id,
      body,
    ];
  }

  /**
   * The by-id claims, after the event rows are durable: the events are grouped
   * by claimPartition() and each partition's claims go in conditional batches
   * of up to CLAIM_ROWS, one Paxos round each. Returns the ids this call won.
   *
   * A batch whose condition fails for some ids applies nothing and returns
   * the rows already there: those ids are settled one by one (settleTaken)
   * and the batch is sent again without them. A CAS write timeout (or a
   * client-side timeout) leaves the outcome unknown: the batch is retried,
   * and a retry that finds rows carrying this call's token knows it won them.
   */
  async claimAll(
    projectId: string,
    events: CollectionEvent[],
    token: string,
  ): Promise<Set<string>> {
    const batches = [...groupBy(events, (e) => claimPartition(e.id))].flatMap(([part, list]) =>
      chunks(list, CLAIM_ROWS).map((batch) => ({ part, batch })),
    );
    const won = new Set<string>();
    await mapBounded(batches, this.claimConcurrency, async ({ part, batch }) => {
      let pending = batch;
      while (pending.length > 0) {
        const statements = pending.map((e) => ({
          query: CQL.claim,
          params: [
            projectId,
            part,
            e.id,
            e.collection,
            new Date(this.bucketOf(e.timestamp)),
            new Date(e.timestamp),
            token,
          ],
        }));
        const rs = await retryUnknownOutcome(() =>
          this.client.batch(statements, { prepare: true }),
        );
        if (rs.wasApplied()) {
          for (const e of pending) won.add(e.id);
          return;
        }
        const taken = new Map(rs.rows.map((row) => [row.id as string, row]));
        // A failed condition always comes with the row that failed it.
        if (taken.size === 0) throw new Error('A claim batch was refused without the rows it met');
        for (const e of pending) {
          const winner = taken.get(e.id);
          if (winner && (await this.settleTaken(projectId, e, winner, token))) won.add(e.id);
        }
        pending = pending.filter((e) => !taken.has(e.id));
      }
    });
    return won;
  }

  /**
   * An id whose claim row was already there: won by this very call (a retried
   * batch that had been applied), or by another delivery. When the other
   * delivery claimed it under other coordinates (only possible if two
   * different events share an id), the row just written is removed again so
   * the id is visible once.
   */
  private async settleTaken(
    projectId: string,
    e: CollectionEvent,
    winner: types.Row,
    token: string,
  ): Promise<boolean> {
    if (winner.claim === token) return true;
    const bucket = this.bucketOf(e.timestamp);
    const same =
      winner.collection === e.collection &&
      (winner.bucket as Date).getTime() === bucket &&
      (winner.ts as Date).getTime() === e.timestamp;
    if (!same)
      await this.client.execute(CQL.deleteStrayRow, [
        projectId,
        e.collection,
        new Date(bucket),
        new Date(e.timestamp),
        e.id,
      ]);
    return false;
  }
}

/**
 * A lightweight transaction whose outcome is unknown (a CAS write timeout
 * under load) is tried again, up to CLAIM_ATTEMPTS times with a growing
 * pause: each one reads back what the row holds, so a retry of an applied
 * attempt learns that it was applied.
 */
async function retryUnknownOutcome(
  write: () => Promise<types.ResultSet>,
): Promise<types.ResultSet> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= CLAIM_ATTEMPTS || !isUnknownOutcome(error)) throw error;
      await sleep(50 * 2 ** attempt);
    }
  }
}

/** Timeouts after which a write may or may not have been applied. */
function isUnknownOutcome(error: unknown): boolean {
  if (error instanceof errors.OperationTimedOutError) return true;
  if (!(error instanceof errors.ResponseError)) return false;
  return (
    error.code === types.responseErrorCodes.writeTimeout ||
    error.code === types.responseErrorCodes.unavailableException
  );
}
