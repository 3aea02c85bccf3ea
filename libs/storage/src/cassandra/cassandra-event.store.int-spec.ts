import { Client } from 'cassandra-driver';
import { CollectionEvent } from '@app/events';
import { executeQuery, parseQuery, ScanRequest } from '@app/query-engine';
import { describeEventStoreContract } from '../testing/event-store.contract';
import { PartitionRead } from './cassandra-client';
import { CassandraEventStore } from './cassandra-event.store';
import { readPartitions } from './cassandra-partition.reader';
import { startTestCassandra, TestCassandra, testKeyspace } from './testing/test-cassandra';

// One Cassandra for the whole file (start-up takes ~20 s), stopped after every block.
let server: Promise<TestCassandra> | undefined;
const cassandra = () => (server ??= startTestCassandra());
afterAll(async () => {
  if (server) await (await server).stop();
}, 90_000);

describeEventStoreContract('cassandra', async () => {
  const { contactPoints } = await cassandra();
  const store = new CassandraEventStore({ contactPoints, keyspace: testKeyspace('contract') });
  await store.init();
  return { store, close: () => store.close() };
});

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 4, 1);

/** The instant `ms` as an ISO-8601 date-time at +01:00 (not how Tally spells it). */
function toOffsetSpelling(ms: number): string {
  return `${new Date(ms + 3_600_000).toISOString().slice(0, 23)}+01:00`;
}

function dayOfEvents(day: number, n: number): CollectionEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const timestamp = T0 + day * DAY + Math.floor((i / n) * DAY);
    const id = `d${String(day).padStart(2, '0')}-${String(i).padStart(5, '0')}`;
    return {
      collection: 'clicks',
      id,
      timestamp,
      event: {
        day,
        i,
        country: ['FR', 'US', 'JP'][i % 3],
        keen: {
          id,
          timestamp: new Date(timestamp).toISOString(),
          created_at: new Date(timestamp).toISOString(),
        },
      },
    };
  });
}

describe('CassandraEventStore on a real Cassandra', () => {
  jest.setTimeout(180_000);
  let store: CassandraEventStore;
  let contactPoints: string[];
  let keyspace: string;
  const reads: PartitionRead[] = [];

  beforeAll(async () => {
    ({ contactPoints } = await cassandra());
    keyspace = testKeyspace('store');
    store = new CassandraEventStore({
      contactPoints,
      keyspace,
      onRead: (r) => reads.push(r),
      pageSize: 100,
    });
    await store.init();
  });
  afterAll(async () => store?.close());

  it('reads only the buckets of a one-day timeframe over a 30-day collection', async () => {
    const project = 'prune';
    // A different number of events every day, so the counts prove which day was read.
    for (let day = 0; day < 30; day++) await store.insert(project, dayOfEvents(day, 50 + day));
    expect(await store.countCollection(project, 'clicks')).toBe(30 * 50 + (29 * 30) / 2);

    reads.length = 0;
    const before = store.readStats();
    const query = parseQuery('count', {
      event_collection: 'clicks',
      timeframe: {
        start: new Date(T0 + 10 * DAY).toISOString(),
        end: new Date(T0 + 11 * DAY).toISOString(),
      },
      group_by: 'country',
      include_metadata: true,
    });
    const response = await executeQuery(query, store, { projectId: project });
    const perCountry = (response.result as Array<{ country: string; result: number }>).reduce(
      (n, g) => n + g.result,
      0,
    );
    expect(perCountry).toBe(60);
    expect(response.execution_metadata?.events_scanned).toBe(60);
    expect(reads).toEqual([{ projectId: project, collection: 'clicks', bucket: T0 + 10 * DAY }]);
    expect(store.readStats().partitionsRead - before.partitionsRead).toBe(1);
    expect(store.readStats().rowsRead - before.rowsRead).toBe(60);

    // A timeframe cutting through two days reads exactly those two partitions.
    reads.length = 0;
    const twoDays = parseQuery('count', {
      event_collection: 'clicks',
      timeframe: {
        start: new Date(T0 + 3 * DAY + DAY / 2).toISOString(),
        end: new Date(T0 + 4 * DAY + DAY / 2).toISOString(),
      },
      include_metadata: true,
    });
    const answer = await executeQuery(twoDays, store, { projectId: project });
    // Day 3 (53 events) from noon: i = 27..52; day 4 (54 events) before noon: i = 0..26.
    expect(answer.result).toBe(26 + 27);
    expect(reads.map((r) => r.bucket)).toEqual([T0 + 3 * DAY, T0 + 4 * DAY]);
  });

  it('writes the event row before the by-id claim, so a redelivery after a crash in between stores and counts the event once', async () => {
    const project = 'crash';
    const [lost, other] = dayOfEvents(2, 2);
    // Simulate a delivery that died after writing the event row and before its LWT.
    const raw = new Client({ contactPoints, localDataCenter: 'datacenter1', keyspace });
    try {
      await raw.execute(
        'INSERT INTO event_buckets (project, collection, bucket) VALUES (?, ?, ?)',
        [project, 'clicks', new Date(T0 + 2 * DAY)],
        { prepare: true },
      );
      await raw.execute(
        'INSERT INTO events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?)',
        [
          project,
          'clicks',
          new Date(T0 + 2 * DAY),
          new Date(lost.timestamp),
          lost.id,
          JSON.stringify(lost.event),
        ],
        { prepare: true },
      );
    } finally {
      await raw.shutdown();
    }
    const redelivered = await store.insert(project, [lost, other]);
    expect(redelivered.inserted.map((e) => e.id)).toEqual([lost.id, other.id]);
    expect(redelivered.duplicates).toEqual([]);
    const again = await store.insert(project, [lost, other]);
    expect(again.inserted).toEqual([]);
    expect(again.duplicates.sort()).toEqual([lost.id, other.id].sort());
    const all: unknown[] = [];
    for await (const page of store.scan({ projectId: project, collection: 'clicks' }))
      all.push(...page);
    expect(all).toEqual(
      [lost, other].map(({ id, timestamp, event }) => ({ id, timestamp, event })),
    );
  });

  it('records which insert call claimed each id, for settling counters on redelivery', async () => {
    const project = 'tokens';
    const [a, b, c] = dayOfEvents(4, 3);
    await store.insertClaimed(project, [a, b], 'delivery-1');
    const second = await store.insertClaimed(project, [a, b, c], 'delivery-2');
    expect(second.inserted.map((e) => e.id)).toEqual([c.id]);
    const tokens = await store.claimTokens(project, [a.id, b.id, c.id, 'missing']);
    expect(Object.fromEntries([...tokens].map(([k, v]) => [k, [...v].sort()]))).toEqual({
      'delivery-1': [a.id, b.id].sort(),
      'delivery-2': [c.id],
    });
  });

  it('keeps the first stored body of an id, and an id claimed in another collection stays there', async () => {
    const project = 'first-wins';
    const [a] = dayOfEvents(1, 1);
    await store.insert(project, [a]);
    const moved = { ...a, collection: 'views', event: { ...a.event, changed: true } };
    const outcome = await store.insert(project, [moved]);
    expect(outcome).toEqual({ inserted: [], duplicates: [a.id] });
    const views: unknown[] = [];
    for await (const page of store.scan({ projectId: project, collection: 'views' }))
      views.push(...page);
    expect(views).toEqual([]);
    const clicks: unknown[] = [];
    for await (const page of store.scan({ projectId: project, collection: 'clicks', ids: [a.id] }))
      clicks.push(...page);
    expect(clicks).toEqual([{ id: a.id, timestamp: a.timestamp, event: a.event }]);
  });

  it('removes the row a dead delivery left for a copy of an id that another copy claimed at another time', async () => {
    // Two copies of one id at different timestamps (a uniqueness token sent
    // twice): the first is stored; a delivery of the second died after writing
    // its row and before its claim, leaving a row no claim points to.
    const project = 'stray-copy';
    const [first] = dayOfEvents(5, 1);
    const copy = {
      ...first,
      timestamp: first.timestamp + 3 * DAY,
      event: { ...first.event, copy: true },
    };
    await store.insert(project, [first]);
    const raw = new Client({ contactPoints, localDataCenter: 'datacenter1', keyspace });
    try {
      const bucket = new Date(store.bucketOf(copy.timestamp));
      await raw.execute(
        'INSERT INTO event_buckets (project, collection, bucket) VALUES (?, ?, ?)',
        [project, 'clicks', bucket],
        { prepare: true },
      );
      await raw.execute(
        'INSERT INTO events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?)',
        [project, 'clicks', bucket, new Date(copy.timestamp), copy.id, JSON.stringify(copy.event)],
        { prepare: true },
      );
    } finally {
      await raw.shutdown();
    }
    const scanAll = async () => {
      const all: unknown[] = [];
      for await (const page of store.scan({ projectId: project, collection: 'clicks' }))
        all.push(...page);
      return all;
    };
    expect(await scanAll()).toHaveLength(2);
    // The redelivery of the copy finds the id claimed and removes its stray row.
    expect(await store.insert(project, [copy])).toEqual({ inserted: [], duplicates: [first.id] });
    expect(await scanAll()).toEqual([
      { id: first.id, timestamp: first.timestamp, event: first.event },
    ]);
    expect(await store.countCollection(project, 'clicks')).toBe(1);
  });

  it('claims and counts the body it stores when copies of one uniqueness token land on one row', async () => {
    const project = 'token-copies';
    const copyOf = (e: CollectionEvent, client: number): CollectionEvent => ({
      ...e,
      event: {
        ...e.event,
        client,
        [`only_${client}`]: client,
        keen: { ...(e.event.keen as object), uniqueness_token: `tok-${e.id}` },
      },
    });
    const scanned = async () => {
      const all = new Map<string, unknown>();
      for await (const page of store.scan({ projectId: project, collection: 'clicks' }))
        for (const e of page) all.set(e.id, e.event);
      return all;
    };
    // A delivery that wrote its copy's row and died: the next copy goes on with that body.
    const [dead] = dayOfEvents(6, 1);
    const raw = new Client({ contactPoints, localDataCenter: 'datacenter1', keyspace });
    try {
      await raw.execute(
        'INSERT INTO event_buckets (project, collection, bucket) VALUES (?, ?, ?)',
        [project, 'clicks', new Date(store.bucketOf(dead.timestamp))],
        { prepare: true },
      );
      await raw.execute(
        'INSERT INTO events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?)',
        [
          project,
          'clicks',
          new Date(store.bucketOf(dead.timestamp)),
          new Date(dead.timestamp),
          dead.id,
          JSON.stringify(copyOf(dead, 1).event),
        ],
        { prepare: true },
      );
    } finally {
      await raw.shutdown();
    }
    const next = await store.insertClaimed(project, [copyOf(dead, 2)], 'delivery-2');
    expect(next.inserted.map((e) => e.event)).toEqual([copyOf(dead, 1).event]);
    expect((await scanned()).get(dead.id)).toEqual(copyOf(dead, 1).event);

    // Copies racing: whichever claims, the body it reports is the one stored.
    const racing = dayOfEvents(7, 12);
    const outcomes = await Promise.all(
      [1, 2, 3].map((c) =>
        store.insertClaimed(
          project,
          racing.map((e) => copyOf(e, c)),
          `race-${c}`,
        ),
      ),
    );
    const reported = new Map<string, unknown>();
    for (const o of outcomes) for (const e of o.inserted) reported.set(e.id, e.event);
    expect(reported.size).toBe(racing.length);
    const stored = await scanned();
    for (const e of racing) expect([e.id, reported.get(e.id)]).toEqual([e.id, stored.get(e.id)]);
  });

  it('reads dense partitions as parallel time slices, in clustering order either way', async () => {
    // Small pages and two slices at once: every partition is cut into many
    // slices, and timestamp ties (5 events per instant) must not straddle two.
    const sliced = new CassandraEventStore({
      contactPoints,
      keyspace,
      pageSize: 20,
      scanConcurrency: 2,
    });
    try {
      const project = 'sliced';
      // 1,200 events over three days, 5 per instant, 18 minutes apart.
      const tied = [0, 1, 2]
        .flatMap((day) => dayOfEvents(day, 400))
        .map((e, i) => {
          // The body's keen.timestamp is the row's, as prepareEvent stores it.
          const timestamp = T0 + Math.floor(i / 5) * 1_080_000;
          const keen = {
            ...(e.event.keen as object),
            timestamp: new Date(timestamp).toISOString(),
          };
          return { ...e, timestamp, event: { ...e.event, keen } };
        });
      await sliced.insert(project, tied);
      const key = (e: { timestamp: number; id: string }) => [e.timestamp, e.id] as const;
      const asc = [...tied]
        .sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1))
        .map(key);
      const scanned = async (request: Partial<ScanRequest>) => {
        const out: Array<readonly [number, string]> = [];
        for await (const page of sliced.scan({
          projectId: project,
          collection: 'clicks',
          ...request,
        }))
          for (const e of page) out.push(key(e));
        return out;
      };
      expect(await scanned({ order: 'asc' })).toEqual(asc);
      expect(await scanned({})).toEqual(asc);
      expect(await scanned({ order: 'desc' })).toEqual([...asc].reverse());
      const start = T0 + DAY / 3;
      const end = T0 + 2 * DAY + DAY / 7;
      expect(await scanned({ start, end, order: 'desc' })).toEqual(
        asc.filter(([t]) => t >= start && t < end).reverse(),
      );
      // Leaving after the first page stops the reads and leaves nothing failing behind.
      for await (const page of sliced.scan({ projectId: project, collection: 'clicks' })) {
        expect(page.length).toBeLessThanOrEqual(20);
        break;
      }
    } finally {
      await sliced.close();
    }
  });

  it('cuts slices that end on a partial page, so no request comes back empty', async () => {
    // Cassandra hands a full page its paging state even when nothing follows:
    // a slice of exactly `ahead` full pages costs one more, empty, round trip.
    const project = 'slices';
    const events = dayOfEvents(6, 3000); // evenly spread over the day
    await store.insert(project, events);
    const raw = new Client({ contactPoints, localDataCenter: 'datacenter1', keyspace });
    const pages: number[] = [];
    const execute = raw.execute.bind(raw) as (...args: unknown[]) => Promise<{ rows: unknown[] }>;
    (raw as unknown as { execute: typeof execute }).execute = async (...args) => {
      const rs = await execute(...args);
      pages.push(rs.rows.length);
      return rs;
    };
    try {
      const bucket = T0 + 6 * DAY;
      const key = { projectId: project, collection: 'clicks', bucket };
      const ids: string[] = [];
      const options = { concurrency: 2, ahead: 2, fetchSize: 100, desc: false };
      for await (const page of readPartitions(
        raw,
        [{ key, start: bucket, end: bucket + DAY }],
        options,
      ))
        ids.push(...page.map((e) => e.id));
      expect(ids).toEqual(events.map((e) => e.id));
      expect(pages.filter((n) => n === 0)).toEqual([]);
      // 3,000 rows in pages of at most 100: 30 requests at best; slices of
      // 1.75 pages (the first one an eighth of the day) take about 35.
      expect(pages.length).toBeLessThanOrEqual(40);
    } finally {
      await raw.shutdown();
    }
  });

  it('scans read the id and timestamp from the body, and refuse a row Tally did not write', async () => {
    // Scans select the body alone: its keen.id and keen.timestamp are the
    // row's id and ts, whatever ISO spelling the body holds.
    const project = 'bodies';
    const events = dayOfEvents(5, 3);
    events[1].event = {
      ...events[1].event,
      keen: {
        ...(events[1].event.keen as object),
        timestamp: toOffsetSpelling(events[1].timestamp),
      },
    };
    await store.insert(project, events);
    const scan = async () => {
      const out: Array<{ id: string; timestamp: number; event: unknown }> = [];
      for await (const page of store.scan({ projectId: project, collection: 'clicks' }))
        out.push(...page);
      return out;
    };
    expect(await scan()).toEqual(
      events.map((e) => ({ id: e.id, timestamp: e.timestamp, event: e.event })),
    );
    // A row written behind Tally's back, with no keen object in its body.
    const raw = new Client({ contactPoints, localDataCenter: 'datacenter1', keyspace });
    try {
      await raw.execute(
        'INSERT INTO events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?)',
        [project, 'clicks', new Date(T0 + 5 * DAY), new Date(T0 + 5 * DAY + 1), 'stray', '{"a":1}'],
        { prepare: true },
      );
    } finally {
      await raw.shutdown();
    }
    await expect(scan()).rejects.toThrow(
      /bodies\/clicks \(bucket 2024-05-06T00:00:00.000Z\) has no string keen.id/,
    );
  });

  it('records applied migrations and refuses another bucket width on the same keyspace', async () => {
    const raw = new Client({ contactPoints, localDataCenter: 'datacenter1', keyspace });
    try {
      const rows = (await raw.execute('SELECT version, applied_at FROM schema_migrations')).rows;
      expect(rows.map((r) => r.version).sort()).toEqual([1, 2, 3]);
      for (const row of rows) expect(row.applied_at).toBeInstanceOf(Date);
    } finally {
      await raw.shutdown();
    }
    const again = new CassandraEventStore({ contactPoints, keyspace });
    await expect(again.init()).resolves.toBeUndefined();
    await again.close();
    const other = new CassandraEventStore({ contactPoints, keyspace, bucketMs: 3_600_000 });
    await expect(other.init()).rejects.toThrow(/bucketMs=86400000/);
    await other.close();
  });
});
