import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollectionEvent } from '@app/events';
import { executeQuery, parseQuery } from '@app/query-engine';
import { FEED_WINDOW, SqliteChangeFeed } from '../sqlite/sqlite-change-feed';
import { SqliteDatabase } from '../sqlite/sqlite-database';
import { SqliteEventStore } from '../sqlite/sqlite-event.store';
import { ColumnarCopy } from './columnar-copy';
import { isLockConflict, openOrRebuild } from './open-or-rebuild';

/**
 * The columnar copy against the SQLite events it follows: after any mix of
 * inserts, deletes, body rewrites, dropped collections, re-used rowids,
 * restarts and a stale copy, the copy holds exactly the rows SQLite holds
 * (ids, timestamps, bodies), and its answers equal the TypeScript engine's
 * over the SQLite scan.
 */
describe('ColumnarCopy following SQLite', () => {
  let dir: string;
  let db: SqliteDatabase;
  let store: SqliteEventStore;
  let copy: ColumnarCopy | undefined;
  const copyFile = () => path.join(dir, 'columnar.duckdb');
  const open = async () => {
    copy = await ColumnarCopy.open(new SqliteChangeFeed(db), { path: copyFile() });
    return copy;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-columnar-'));
    db = new SqliteDatabase(path.join(dir, 'tally.db'));
    store = new SqliteEventStore(db);
  });
  afterEach(async () => {
    await copy?.close();
    copy = undefined;
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const T0 = Date.parse('2026-01-01T00:00:00Z');
  const event = (
    collection: string,
    n: number,
    extra: Record<string, unknown> = {},
  ): CollectionEvent => ({
    collection,
    id: `id-${collection}-${n}`,
    timestamp: T0 + n * 60_000,
    event: { n, even: n % 2 === 0, user: { country: n % 3 === 0 ? 'NL' : 'US' }, ...extra },
  });

  /** The SQLite rows of a collection as the copy should hold them. */
  const sqliteRows = (project: string, collection: string) =>
    db.reader
      .prepare('SELECT id, ts, body FROM events WHERE project = ? AND collection = ? ORDER BY id')
      .raw()
      .all(project, collection) as [string, number, string][];

  const expectSameRows = async (project: string, collection: string) => {
    await copy!.sync();
    expect(await copy!.rowsOf(project, collection)).toEqual(sqliteRows(project, collection));
  };

  it('moves an unreadable copy aside and rebuilds it from SQLite', async () => {
    await store.insert(
      'p',
      Array.from({ length: 1_200 }, (_, i) => event('clicks', i)),
    );
    // A copy damaged beyond DuckDB's reading: ColumnarCopy.open refuses it.
    const garbage = Buffer.alloc(64 * 1024, 7);
    fs.writeFileSync(copyFile(), garbage);
    fs.writeFileSync(`${copyFile()}.wal`, 'not a wal');
    await expect(
      ColumnarCopy.open(new SqliteChangeFeed(db), { path: copyFile() }),
    ).rejects.toThrow();

    const logged: string[] = [];
    copy = await openOrRebuild(new SqliteChangeFeed(db), { path: copyFile() }, (m) =>
      logged.push(m),
    );
    await expectSameRows('p', 'clicks');
    expect(await copy.rowCount()).toBe(1_200);
    // The unreadable file is kept, unchanged, for an operator to look at.
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('columnar.duckdb.unreadable-'));
    expect(aside.filter((f) => !f.endsWith('.wal'))).toHaveLength(1);
    expect(aside.filter((f) => f.endsWith('.wal'))).toHaveLength(1);
    expect(
      fs.readFileSync(
        path.join(
          dir,
          aside.find((f) => !f.endsWith('.wal'))!,
        ),
      ),
    ).toEqual(garbage);
    expect(logged).toEqual([expect.stringMatching(/unreadable .*moved to .*rebuilding/)]);

    // A readable copy is opened as it is: nothing moved, nothing logged.
    await copy.close();
    copy = await openOrRebuild(new SqliteChangeFeed(db), { path: copyFile() }, (m) =>
      logged.push(m),
    );
    expect(await copy.rowCount()).toBe(1_200);
    expect(logged).toHaveLength(1);
  });

  it("tells DuckDB's lock conflict (another process holds the copy) from an unreadable file", () => {
    expect(
      isLockConflict(
        'IO Error: Could not set lock on file "/d/columnar.duckdb": Conflicting lock is held in /usr/bin/node (PID 42)',
      ),
    ).toBe(true);
    expect(
      isLockConflict(
        'IO Error: The file "/d/columnar.duckdb" exists, but it is not a valid DuckDB database file!',
      ),
    ).toBe(false);
  });

  it('copies inserts, deletes, rewrites and dropped collections exactly', async () => {
    await store.insert(
      'p',
      Array.from({ length: 5_000 }, (_, i) => event('clicks', i)),
    );
    await store.insert(
      'q',
      Array.from({ length: 300 }, (_, i) => event('clicks', i, { q: true })),
    );
    await open();
    await expectSameRows('p', 'clicks');
    await expectSameRows('q', 'clicks');
    expect(await copy!.rowCount()).toBe(5_300);

    const gone = await store.deleteByIds('p', 'clicks', [
      'id-clicks-0',
      'id-clicks-17',
      'id-clicks-4999',
    ]);
    expect(gone).toHaveLength(3);
    const rewritten = await store.replaceBodies('p', 'clicks', [
      { id: 'id-clicks-5', expected: event('clicks', 5).event, body: { n: 5, rewritten: 'yes' } },
    ]);
    expect(rewritten).toEqual(['id-clicks-5']);
    await store.insert('p', [event('views', 1), event('views', 2)]);
    await expectSameRows('p', 'clicks');
    await expectSameRows('p', 'views');

    // The highest rowid deleted and its number re-used by the next insert:
    // the log names it, so the copy re-reads it.
    await store.deleteByIds('p', 'views', ['id-views-2']);
    await store.insert('p', [event('views', 3)]);
    await expectSameRows('p', 'views');

    expect(await store.dropCollection('q', 'clicks')).toBe(300);
    await expectSameRows('q', 'clicks');
    expect(await copy!.rowCount()).toBe(5_000 - 3 + 2);
  });

  it('resumes after a restart where it stopped, and rebuilds when its position was forgotten', async () => {
    await store.insert(
      'p',
      Array.from({ length: 1_000 }, (_, i) => event('clicks', i)),
    );
    await open();
    await copy!.sync();
    await copy!.close();
    copy = undefined;

    // Changes while no copy runs (the server down, the CLI deleting).
    await store.deleteByIds('p', 'clicks', ['id-clicks-1', 'id-clicks-2']);
    await store.insert('p', [event('clicks', 5_000)]);
    await open();
    await expectSameRows('p', 'clicks');
    await copy!.close();
    copy = undefined;

    // The log pruned past the copy's position (e.g. a copy restored from an
    // old backup): the copy cannot know what it missed, so it starts over.
    await store.deleteByIds('p', 'clicks', ['id-clicks-3']);
    const feed = new SqliteChangeFeed(db);
    await feed.prune(feed.head().seq);
    await open();
    await expectSameRows('p', 'clicks');
    expect(await copy!.rowCount()).toBe(1_000 - 3 + 1);
  });

  it('answers as the TypeScript engine does over the SQLite scan, and reads its own writes', async () => {
    await open();
    await store.insert(
      'p',
      Array.from({ length: 2_000 }, (_, i) => event('clicks', i)),
    );
    const now = new Date(T0 + 3 * 86_400_000);
    const queries: [string, Record<string, unknown>][] = [
      ['count', { event_collection: 'clicks', timeframe: 'this_7_days' }],
      [
        'count',
        {
          event_collection: 'clicks',
          timeframe: 'this_7_days',
          filters: [{ property_name: 'user.country', operator: 'eq', property_value: 'NL' }],
        },
      ],
      [
        'sum',
        {
          event_collection: 'clicks',
          timeframe: 'this_7_days',
          target_property: 'n',
          group_by: 'even',
        },
      ],
      [
        'count',
        {
          event_collection: 'clicks',
          timeframe: 'this_7_days',
          interval: 'daily',
          timezone: 'America/New_York',
        },
      ],
      [
        'percentile',
        {
          event_collection: 'clicks',
          timeframe: 'this_7_days',
          target_property: 'n',
          percentile: 90,
        },
      ],
    ];
    for (const [analysis, params] of queries) {
      const query = parseQuery(analysis, params);
      const compiled = await copy!.answer('p', query, { limits: {}, now });
      expect(compiled).toHaveProperty('response');
      const reference = await executeQuery(query, store, { projectId: 'p', now });
      expect('response' in compiled && compiled.response).toEqual(reference);
    }
    // A write committed just before the query is in its answer.
    await store.insert('p', [event('clicks', 2_000, { user: { country: 'NL' } })]);
    const count = parseQuery('count', { event_collection: 'clicks', timeframe: 'this_7_days' });
    const answer = await copy!.answer('p', count, { limits: {}, now });
    expect('response' in answer && answer.response.result).toBe(2_001);
  });

  it('fills in windows bounded by rows and by bytes, and holds every row after a fill of many', async () => {
    // A fill's memory grows with its window, so both bounds hold: small
    // events stop at the row bound, large ones at the byte bound.
    await store.insert(
      'p',
      Array.from({ length: FEED_WINDOW.rows * 4 + 10 }, (_, i) => event('small', i)),
    );
    const pad = 'x'.repeat(200_000);
    const large = Math.ceil(FEED_WINDOW.bytes / pad.length) + 5;
    await store.insert(
      'p',
      Array.from({ length: large }, (_, i) => event('large', i, { pad })),
    );
    const feed = new SqliteChangeFeed(db);
    const first = feed.read({ rowid: 0, seq: 0 });
    expect(first.rows).toHaveLength(FEED_WINDOW.rows);
    expect(first.caughtUp).toBe(false);
    const firstLarge = feed.read({ rowid: FEED_WINDOW.rows * 4 + 10, seq: 0 });
    const bytes = firstLarge.rows.reduce((sum, r) => sum + r.body.length, 0);
    expect(firstLarge.rows.length).toBeLessThan(large);
    expect(bytes).toBeGreaterThanOrEqual(FEED_WINDOW.bytes);
    expect(bytes - firstLarge.rows[firstLarge.rows.length - 1].body.length).toBeLessThan(
      FEED_WINDOW.bytes,
    );

    const progress: { at: number; done: boolean }[] = [];
    copy = await ColumnarCopy.open(new SqliteChangeFeed(db), {
      path: copyFile(),
      onProgress: (p) => progress.push({ at: p.at, done: p.done }),
    });
    await copy.sync();
    await expectSameRows('p', 'small');
    await expectSameRows('p', 'large');
    // Reported window by window, and done at the last row.
    expect(progress.length).toBeGreaterThan(4);
    expect(progress[progress.length - 1]).toEqual({
      at: FEED_WINDOW.rows * 4 + 10 + large,
      done: true,
    });
  });

  it("returns DuckDB's freed memory to the system in the background", async () => {
    await open();
    expect(
      await copy!.nativeRows(
        "SELECT value FROM duckdb_settings() WHERE name = 'allocator_background_threads'",
      ),
    ).toEqual([['true']]);
  });

  it('reads a write committed while a round is in flight, after that round read its last window', async () => {
    await open();
    await copy!.sync();
    const write = db.writer.prepare(
      'INSERT INTO events (project, collection, id, ts, body) VALUES (?, ?, ?, ?, ?)',
    );
    const insertNow = (n: number) => {
      const e = event('late', n);
      write.run('p', e.collection, e.id, e.timestamp, JSON.stringify(e.event));
    };
    for (let n = 0; n < 9; n++) insertNow(n);
    // The round reads its window synchronously and then appends it to DuckDB;
    // these writes commit while it appends, after it read its last window.
    const round = copy!.sync();
    for (let n = 9; n < 40; n++) insertNow(n);
    const count = parseQuery('count', { event_collection: 'late' });
    const answer = await copy!.answer('p', count, { limits: {}, now: new Date(T0) });
    await round;
    expect('response' in answer && answer.response.result).toBe(40);
    await expectSameRows('p', 'late');
  });
});
