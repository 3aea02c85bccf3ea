import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { http } from '../support/http';
import { StandaloneServer } from '../support/standalone-server';
import { threadStats } from '../support/thread-stat';
import { MIGRATIONS } from '@app/storage/sqlite';
import { threadpoolSize } from '@app/storage/duckdb';

/**
 * The standalone server answers queries from its columnar copy (DuckDB) where
 * the query compiles, and says so in `x-tally-query-path`; the answers equal
 * the TypeScript engine's (QUERY_COLUMNAR=false) on the same data. A data dir
 * of the previous layout (SQLite only, no change log, no copy) upgrades in
 * place: the copy fills itself from the events already stored.
 */
describe('standalone: the columnar query path', () => {
  const T0 = Date.UTC(2026, 0, 5);
  const COUNTRIES = ['NL', 'US', 'DE'];
  const events = Array.from({ length: 600 }, (_, i) => ({
    n: i,
    amount: i % 7 === 0 ? String(i) : i * 1.5,
    user: { id: `u${i % 37}`, country: COUNTRIES[i % 3] },
    tags: i % 5 === 0 ? ['a', 'b'] : ['c'],
    keen: { timestamp: new Date(T0 + i * 3_600_000).toISOString() },
  }));
  const timeframe = JSON.stringify({
    start: new Date(T0).toISOString(),
    end: new Date(T0 + 40 * 86_400_000).toISOString(),
  });
  const QUERIES: [string, Record<string, string>][] = [
    ['count', {}],
    [
      'count',
      {
        filters: JSON.stringify([
          { property_name: 'user.country', operator: 'eq', property_value: 'NL' },
        ]),
      },
    ],
    [
      'count',
      {
        filters: JSON.stringify([
          {
            operator: 'or',
            operands: [
              { property_name: 'user.country', operator: 'eq', property_value: 'NL' },
              { property_name: 'n', operator: 'lt', property_value: 10 },
            ],
          },
        ]),
      },
    ],
    ['sum', { target_property: 'amount', group_by: 'user.country' }],
    ['count_unique', { target_property: 'user.id' }],
    ['percentile', { target_property: 'n', percentile: '90' }],
    ['count', { interval: 'daily', timezone: 'America/New_York' }],
    ['select_unique', { target_property: 'tags' }],
    ['extraction', { property_names: JSON.stringify(['n', 'user.country']), latest: '5' }],
  ];

  const ask = async (
    server: StandaloneServer,
    analysis: string,
    params: Record<string, string>,
  ) => {
    const qs = new URLSearchParams({ event_collection: 'orders', timeframe, ...params });
    const res = await http('GET', `${server.url}/3.0/projects/default/queries/${analysis}?${qs}`, {
      key: server.keys!.read_key,
    });
    expect(res.status).toBe(200);
    return { result: res.body.result, path: res.headers.get('x-tally-query-path') };
  };

  /** The columnar thread starts beside the server: wait until it answers (at most 20 s). */
  const untilCompiled = async (server: StandaloneServer) => {
    for (let i = 0; i < 200; i++) {
      if ((await ask(server, 'count', {})).path === 'compiled') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the columnar path never answered');
  };

  const answersOf = async (server: StandaloneServer) => {
    const out: unknown[] = [];
    for (const [analysis, params] of QUERIES) {
      const { result, path } = await ask(server, analysis, params);
      out.push({ analysis, params, result, path });
    }
    return out;
  };

  const dirs: string[] = [];
  let server: StandaloneServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  /** A fresh server holding the orders, once its copy answers. */
  const withOrders = async () => {
    const fresh = await new StandaloneServer().start();
    dirs.push(fresh.dataDir);
    const write = await http('POST', `${fresh.url}/3.0/projects/default/events`, {
      body: { orders: events },
      key: fresh.keys!.write_key,
    });
    expect(write.status).toBe(200);
    await untilCompiled(fresh);
    return fresh;
  };

  it('answers compiled queries as the TypeScript engine does, a funnel by the engine, and after deletes', async () => {
    server = await withOrders();
    const compiled = await answersOf(server);
    for (const a of compiled as { path: string }[]) expect(a.path).toBe('compiled');

    const funnel = await http('POST', `${server.url}/3.0/projects/default/queries/funnel`, {
      body: {
        timeframe: JSON.parse(timeframe),
        steps: [
          { event_collection: 'orders', actor_property: 'user.id' },
          { event_collection: 'orders', actor_property: 'user.id' },
        ],
      },
      key: server.keys!.read_key,
    });
    expect(funnel.status).toBe(200);
    expect(funnel.headers.get('x-tally-query-path')).toBe('reference');

    // A delete through the normal path: the copy follows it before the next query.
    const deFilter = JSON.stringify([
      { property_name: 'user.country', operator: 'eq', property_value: 'DE' },
    ]);
    const del = await http(
      'DELETE',
      `${server.url}/3.0/projects/default/events/orders?filters=${encodeURIComponent(deFilter)}`,
      { key: server.keys!.master_key },
    );
    expect([200, 204]).toContain(del.status);
    const afterDelete = await ask(server, 'count', {});
    expect(afterDelete).toEqual({ result: 400, path: 'compiled' });
    const deletedCountry = await ask(server, 'count', {
      filters: JSON.stringify([
        { property_name: 'user.country', operator: 'eq', property_value: 'DE' },
      ]),
    });
    expect(deletedCountry.result).toBe(0);
    const afterDeleteAll = await answersOf(server);
    await server.stop();

    // The same data dir without the copy: every answer from the TypeScript engine, equal.
    const { dataDir, keys } = server;
    server = await new StandaloneServer(dataDir, { QUERY_COLUMNAR: 'false' }).start();
    server.keys = keys;
    const reference = await answersOf(server);
    const strip = (xs: unknown[]) =>
      (xs as { path: string }[]).map(({ path: _p, ...rest }) => rest);
    for (const a of reference as { path: string }[]) expect(a.path).toBe('reference');
    expect(strip(afterDeleteAll)).toEqual(strip(reference));
  }, 120_000);

  it('says in execution_metadata which path answered, with the events it read', async () => {
    server = await withOrders();
    const withMetadata = async (s: StandaloneServer, params: Record<string, string>) => {
      const qs = new URLSearchParams({
        event_collection: 'orders',
        timeframe,
        include_metadata: 'true',
        ...params,
      });
      const res = await http('GET', `${s.url}/3.0/projects/default/queries/count?${qs}`, {
        key: s.keys!.read_key,
      });
      expect(res.status).toBe(200);
      return {
        header: res.headers.get('x-tally-query-path'),
        result: res.body.result,
        path: res.body.execution_metadata.query_path,
        scanned: res.body.execution_metadata.events_scanned,
        perEvent: res.body.execution_metadata.properties_per_event,
      };
    };
    const nl = {
      filters: JSON.stringify([
        { property_name: 'user.country', operator: 'eq', property_value: 'NL' },
      ]),
    };
    // The copy reads every event of the timeframe and filters them itself.
    expect(await withMetadata(server, {})).toEqual({
      header: 'compiled',
      result: 600,
      path: 'compiled',
      scanned: 600,
      perEvent: 1,
    });
    expect(await withMetadata(server, nl)).toEqual({
      header: 'compiled',
      result: 200,
      path: 'compiled',
      scanned: 600,
      perEvent: 2,
    });
    await server.stop();

    const { dataDir, keys } = server;
    server = await new StandaloneServer(dataDir, { QUERY_COLUMNAR: 'false' }).start();
    server.keys = keys;
    expect(await withMetadata(server, {})).toEqual({
      header: 'reference',
      result: 600,
      path: 'reference',
      scanned: 600,
      perEvent: 1,
    });
    // The SQLite scan narrows by the pushed-down filter: it reads fewer events.
    const reference = await withMetadata(server, nl);
    expect(reference).toEqual({
      header: 'reference',
      result: 200,
      path: 'reference',
      scanned: expect.any(Number),
      perEvent: 2,
    });
    expect(reference.scanned).toBeGreaterThanOrEqual(200);
    expect(reference.scanned).toBeLessThanOrEqual(600);
  }, 120_000);

  /**
   * Events stored by a server without the copy, its answers (all from the
   * TypeScript engine), then the server stopped so a test can change its
   * data dir before `restartedAnswersAsBefore`.
   */
  const storedWithoutCopy = async () => {
    server = await new StandaloneServer(undefined, { QUERY_COLUMNAR: 'false' }).start();
    dirs.push(server.dataDir);
    const write = await http('POST', `${server.url}/3.0/projects/default/events`, {
      body: { orders: events },
      key: server.keys!.write_key,
    });
    expect(write.status).toBe(200);
    const before = await answersOf(server);
    await server.stop();
    return { dataDir: server.dataDir, keys: server.keys, before };
  };

  /** Restarts on the data dir with the copy on: every answer compiled, and equal to before. */
  const restartedAnswersAsBefore = async (
    stored: Awaited<ReturnType<typeof storedWithoutCopy>>,
  ) => {
    server = new StandaloneServer(stored.dataDir);
    await server.start();
    server.keys = stored.keys;
    await untilCompiled(server);
    const after = await answersOf(server);
    for (const a of after as { path: string }[]) expect(a.path).toBe('compiled');
    const strip = (xs: unknown[]) =>
      (xs as { path: string }[]).map(({ path: _p, ...rest }) => rest);
    expect(strip(after)).toEqual(strip(stored.before));
  };

  it('runs compiled queries at a lower priority than ingest: the thread pool DuckDB executes on, and nothing else', async () => {
    server = await new StandaloneServer(undefined, { QUERY_COLUMNAR_NICE: '12' }).start();
    dirs.push(server.dataDir);
    await untilCompiled(server);
    const pid = server.process!.pid!;
    const byNice = new Map<number, string[]>();
    for (const [tid, { nice }] of threadStats(pid)) {
      byNice.set(nice, [...(byNice.get(nice) ?? []), String(tid)]);
    }
    // libuv's pool (UV_THREADPOOL_SIZE, 4 by default) and the threads DuckDB
    // starts from it: none of its own with QUERY_COLUMNAR_THREADS=1, and
    // jemalloc's background purge threads (at most one per core); every other
    // thread, the HTTP thread and the SQLite writer thread among them, at 0.
    const low = byNice.get(12)?.length ?? 0;
    expect(low).toBeGreaterThanOrEqual(threadpoolSize());
    expect(low).toBeLessThanOrEqual(threadpoolSize() + os.cpus().length);
    expect([...byNice.keys()].sort()).toEqual([0, 12]);
    expect(byNice.get(0)).toContain(String(pid));
  });

  it('a damaged copy is moved aside at start and rebuilt from the stored events', async () => {
    const stored = await storedWithoutCopy();
    fs.writeFileSync(path.join(stored.dataDir, 'columnar.duckdb'), Buffer.alloc(32 * 1024, 1));
    await restartedAnswersAsBefore(stored);
    expect(
      fs.readdirSync(stored.dataDir).filter((f) => f.startsWith('columnar.duckdb.unreadable-')),
    ).toHaveLength(1);
  }, 120_000);

  it('upgrades a data dir of the previous layout: the copy fills from the stored events', async () => {
    const stored = await storedWithoutCopy();
    // Back to the layout before the copy (migration 2): no change log, no
    // triggers, no copy, and none of the later migrations' tables and columns.
    const file = path.join(stored.dataDir, 'tally.db');
    const db = new Database(file);
    db.exec(`DROP TABLE dataset_rows; DROP TABLE dataset_dirty; DROP TABLE dataset_changes; DROP TABLE datasets;
             DROP TABLE saved_queries;
             ALTER TABLE api_keys DROP COLUMN name; ALTER TABLE api_keys DROP COLUMN active;
             ALTER TABLE api_keys DROP COLUMN access;
             DROP TRIGGER events_deleted_log; DROP TRIGGER events_updated_log; DROP TABLE event_changes;
             DELETE FROM schema_migrations WHERE version >= 3;`);
    expect(
      (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v,
    ).toBe(2);
    db.close();
    fs.rmSync(path.join(stored.dataDir, 'columnar.duckdb'), { force: true });

    await restartedAnswersAsBefore(stored);
    const migrated = new Database(file, { readonly: true });
    expect(
      (migrated.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number })
        .v,
    ).toBe(MIGRATIONS.length);
    migrated.close();
  }, 120_000);
});
