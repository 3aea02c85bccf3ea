import { Client } from 'cassandra-driver';
import { CollectionEvent, deriveEventId } from '@app/events';
import { createClient } from './cassandra-client';
import { CassandraEventStore } from './cassandra-event.store';
import { CassandraEventWriter } from './cassandra-event.writer';
import { claimPartition } from './claim-partition';
import { startTestCassandra, TestCassandra, testKeyspace } from './testing/test-cassandra';

let server: TestCassandra | undefined;
afterAll(async () => server?.stop(), 90_000);

const T = Date.UTC(2026, 11, 1, 12, 0, 0);
const DAY = 86_400_000;

function eventsOf(n: number, tag: string): CollectionEvent[] {
  return Array.from({ length: n }, (_, index) => {
    const timestamp = T + index * 50;
    const id = deriveEventId('secret', {
      projectId: 'p',
      collection: 'clicks',
      requestId: tag,
      index,
      content: '',
      timestamp,
    });
    const iso = new Date(timestamp).toISOString();
    return {
      collection: 'clicks',
      id,
      timestamp,
      event: { i: index, keen: { id, timestamp: iso, created_at: iso } },
    };
  });
}

describe('Cassandra claims in partitions of event_claims', () => {
  jest.setTimeout(180_000);
  let keyspace: string;
  let store: CassandraEventStore;
  let raw: Client;
  let writer: CassandraEventWriter;

  beforeAll(async () => {
    server = await startTestCassandra();
    keyspace = testKeyspace('claims');
    store = new CassandraEventStore({ contactPoints: server.contactPoints, keyspace });
    await store.init();
    raw = createClient({ contactPoints: server.contactPoints, keyspace }, keyspace);
    writer = new CassandraEventWriter(raw, (ts) => store.bucketOf(ts), 16, 16);
  });
  afterAll(async () => {
    await store?.close();
    await raw?.shutdown();
  });

  /** id -> claim token of every claim row of the project, read partition by partition. */
  async function claimsOf(project: string, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of new Set(ids.map(claimPartition))) {
      const rs = await raw.execute(
        'SELECT id, claim, collection, bucket, ts FROM event_claims WHERE project = ? AND part = ?',
        [project, part],
        { prepare: true },
      );
      for (const row of rs.rows) {
        expect(claimPartition(row.id as string)).toBe(part);
        out.set(row.id as string, row.claim as string);
      }
    }
    return out;
  }

  it('claims a batch per partition; a batch that meets taken ids claims the rest, and a retried call knows its own', async () => {
    const events = eventsOf(250, 'batch');
    // 250 events 50 ms apart (12.5 s): one 1,024 s window, or two, of 4 slots each.
    expect(new Set(events.map((e) => claimPartition(e.id))).size).toBeLessThanOrEqual(8);
    await writer.writeBuckets('p', events);
    await writer.writeRows('p', events);

    const first = await writer.claimAll('p', events.slice(0, 100), 'a');
    expect([...first].sort()).toEqual(
      events
        .slice(0, 100)
        .map((e) => e.id)
        .sort(),
    );

    // Half of this call's ids are taken by 'a': every batch is refused once, then applied without them.
    const second = await writer.claimAll('p', events.slice(50), 'b');
    expect([...second].sort()).toEqual(
      events
        .slice(100)
        .map((e) => e.id)
        .sort(),
    );

    // The same call again (a retry after an applied batch timed out): its own claims are its wins.
    const retried = await writer.claimAll('p', events.slice(50), 'b');
    expect([...retried].sort()).toEqual(
      events
        .slice(100)
        .map((e) => e.id)
        .sort(),
    );

    const claims = await claimsOf(
      'p',
      events.map((e) => e.id),
    );
    expect(claims.size).toBe(250);
    events.forEach((e, i) => expect([e.id, claims.get(e.id)]).toEqual([e.id, i < 100 ? 'a' : 'b']));
  });

  it('removes the row of an id claimed at other coordinates, and keeps the claimed one', async () => {
    const [event] = eventsOf(1, 'moved');
    await writer.writeBuckets('p', [event]);
    await writer.writeRows('p', [event]);
    expect([...(await writer.claimAll('p', [event], 'first'))]).toEqual([event.id]);
    const later = { ...event, timestamp: event.timestamp + DAY };
    await writer.writeBuckets('p', [later]);
    await writer.writeRows('p', [later]);
    expect((await writer.claimAll('p', [later], 'second')).size).toBe(0);
    const rows = await store.scan({ projectId: 'p', collection: 'clicks', ids: [event.id] });
    const found = [];
    for await (const page of rows) found.push(...page);
    expect(found.map((e) => [e.id, e.timestamp])).toEqual([[event.id, event.timestamp]]);
    const stray = await raw.execute(
      'SELECT id FROM events WHERE project = ? AND collection = ? AND bucket = ? AND ts = ? AND id = ?',
      [
        'p',
        'clicks',
        new Date(store.bucketOf(later.timestamp)),
        new Date(later.timestamp),
        event.id,
      ],
      { prepare: true },
    );
    expect(stray.rowLength).toBe(0);
  });

  it('an upgraded keyspace: claims in events_by_id are found, count as duplicates and are deleted', async () => {
    const project = 'upgraded';
    const old = eventsOf(20, 'legacy');
    // What the previous version left: the rows, and each id's claim in events_by_id.
    await writer.writeBuckets(project, old);
    await writer.writeRows(project, old);
    for (const e of old)
      await raw.execute(
        'INSERT INTO events_by_id (project, id, collection, bucket, ts, claim) VALUES (?, ?, ?, ?, ?, ?)',
        [
          project,
          e.id,
          e.collection,
          new Date(store.bucketOf(e.timestamp)),
          new Date(e.timestamp),
          'old',
        ],
        { prepare: true },
      );
    const upgraded = new CassandraEventStore({ contactPoints: server!.contactPoints, keyspace });
    await upgraded.init();
    try {
      const fresh = eventsOf(30, 'after');
      const outcome = await upgraded.insert(project, [...old, ...fresh]);
      expect(outcome.inserted.map((e) => e.id).sort()).toEqual(fresh.map((e) => e.id).sort());
      expect(outcome.duplicates.sort()).toEqual(old.map((e) => e.id).sort());
      // New claims land in event_claims only; the old ones stay where they were.
      const claims = await claimsOf(
        project,
        [...old, ...fresh].map((e) => e.id),
      );
      expect([...claims.keys()].sort()).toEqual(fresh.map((e) => e.id).sort());
      expect(
        (await upgraded.claimTokens(project, [old[0].id, old[1].id])).get('old')?.sort(),
      ).toEqual([old[0].id, old[1].id].sort());

      const deleted = await upgraded.deleteByIds(project, 'clicks', [old[0].id, fresh[0].id]);
      expect(deleted.map((e) => e.id)).toEqual([old[0].id, fresh[0].id]);
      const legacyLeft = await raw.execute(
        'SELECT id FROM events_by_id WHERE project = ? AND id IN ?',
        [project, old.map((e) => e.id)],
        { prepare: true },
      );
      expect(legacyLeft.rows.map((r) => r.id as string).sort()).toEqual(
        old
          .slice(1)
          .map((e) => e.id)
          .sort(),
      );
      expect(await upgraded.countCollection(project, 'clicks')).toBe(48);
      const pages = upgraded.scan({
        projectId: project,
        collection: 'clicks',
        ids: [old[0].id, old[1].id, fresh[0].id, fresh[1].id],
      });
      const left = [];
      for await (const page of pages) left.push(...page.map((e) => e.id));
      expect(left.sort()).toEqual([old[1].id, fresh[1].id].sort());
    } finally {
      await upgraded.close();
    }
  });
});
