import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { JsonObject } from '@app/events';
import { MIGRATIONS } from '@app/storage/sqlite';
import { ensureCommand } from '@tools/stack';
import { freePort } from '../support/free-port';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import {
  assertNoKeysLogged,
  ProjectKeys,
  STANDALONE_MAIN,
  StandaloneServer,
} from '../support/standalone-server';

/**
 * Upgrading in place from a data dir the previous layout wrote: SQLite
 * migrations 1-2 only, no change log, no columnar copy. The fixture
 * (test/fixtures/layout-2, README there) was written by that build
 * (commit 6713421) through its HTTP API: 3,000 events in two collections,
 * then a filtered delete of 400. The current server migrates it on first
 * start and fills the copy from the stored events; a fill killed half-way
 * resumes where it stopped; a terminal shows the fill's progress.
 */
const FIXTURE = path.resolve(__dirname, '../fixtures/layout-2');

interface Manifest {
  keys: ProjectKeys;
  deleted: { collection: string; filters: unknown[]; events: number };
  remaining: Record<string, number>;
}
interface Sent {
  collection: string;
  event: JsonObject;
}

const manifest = JSON.parse(
  fs.readFileSync(path.join(FIXTURE, 'manifest.json'), 'utf8'),
) as Manifest;
const sent = zlib
  .gunzipSync(fs.readFileSync(path.join(FIXTURE, 'sent.ndjson.gz')))
  .toString('utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Sent);
/** What the fixture holds: every event sent, less the deleted ones. */
const kept = sent.filter(
  (s) => !(s.collection === 'purchases' && (s.event.user as JsonObject).country === 'DE'),
);
const TIMEFRAME = JSON.stringify({
  start: '2026-09-01T00:00:00.000Z',
  end: '2027-01-01T00:00:00.000Z',
});

/** The fixture's data dir, unpacked into a fresh directory. */
function unpack(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-upgrade-'));
  execFileSync('tar', ['-xzf', path.join(FIXTURE, 'data-dir.tar.gz'), '-C', dir]);
  return dir;
}

function schemaVersion(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'tally.db'), { readonly: true });
  try {
    return (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v;
  } finally {
    db.close();
  }
}

/**
 * Every stored row copied `times - 1` more times under new ids, counters
 * scaled alike (they count events, so a recount agrees): still the previous
 * layout, big enough that filling the copy takes seconds.
 */
function amplify(dataDir: string, times: number): void {
  const db = new Database(path.join(dataDir, 'tally.db'));
  db.exec(`
    WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ${times - 1})
    INSERT INTO events (project, collection, id, ts, body)
      SELECT e.project, e.collection, e.id || '-' || k.n, e.ts, e.body FROM events e, k;
    UPDATE schema_counters SET count = count * ${times};
  `);
  db.close();
}

const QUERIES: [string, Record<string, string>][] = [
  ['count', { event_collection: 'purchases' }],
  ['count', { event_collection: 'pageviews' }],
  [
    'count',
    {
      event_collection: 'purchases',
      filters: JSON.stringify([{ property_name: 'price', operator: 'gt', property_value: 1000 }]),
    },
  ],
  ['sum', { event_collection: 'purchases', target_property: 'price', group_by: 'user.country' }],
  ['count_unique', { event_collection: 'purchases', target_property: 'user.id' }],
  ['count', { event_collection: 'pageviews', group_by: 'score' }],
  ['percentile', { event_collection: 'pageviews', target_property: 'duration', percentile: '90' }],
  ['count', { event_collection: 'purchases', interval: 'weekly', timezone: 'Europe/Amsterdam' }],
  ['select_unique', { event_collection: 'purchases', target_property: 'tags' }],
];

async function ask(
  url: string,
  keys: ProjectKeys,
  analysis: string,
  params: Record<string, string>,
) {
  const qs = new URLSearchParams({ timeframe: TIMEFRAME, ...params });
  const res = await http('GET', `${url}/3.0/projects/default/queries/${analysis}?${qs}`, {
    key: keys.read_key,
  });
  expect(res.status).toBe(200);
  return { result: res.body.result as unknown, path: res.headers.get('x-tally-query-path') };
}

async function answers(url: string, keys: ProjectKeys) {
  const out: { analysis: string; result: unknown; path: string | null }[] = [];
  for (const [analysis, params] of QUERIES)
    out.push({ analysis, ...(await ask(url, keys, analysis, params)) });
  return out;
}

/** Until the copy answers a count (the fill is done), at most `ms`. */
async function untilCompiled(server: StandaloneServer, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const a = await ask(server.url, manifest.keys, 'count', { event_collection: 'purchases' });
    if (a.path === 'compiled') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the copy never answered:\n${server.output.slice(-2000)}`);
}

async function until(
  what: string,
  check: () => boolean,
  ms: number,
  output: () => string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('standalone: upgrading a data dir of the previous layout', () => {
  const dirs: string[] = [];
  let server: StandaloneServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('migrates on first start: every event as sent, counters equal a recount, compiled answers equal the TypeScript engine', async () => {
    const dataDir = unpack();
    dirs.push(dataDir);
    expect(fs.readdirSync(dataDir)).toEqual(['tally.db']);
    expect(schemaVersion(dataDir)).toBe(2);

    server = await new StandaloneServer(dataDir, { LOG_LEVEL: 'info' }).start();
    server.keys = manifest.keys;
    await untilCompiled(server, 60_000);
    expect(schemaVersion(dataDir)).toBe(MIGRATIONS.length);
    // 2,600 rows fill in one round, below the backlog worth a progress report.
    const compiled = await answers(server.url, manifest.keys);
    expect(compiled.map((a) => a.path)).toEqual(QUERIES.map(() => 'compiled'));
    expect(compiled[0].result).toBe(manifest.remaining.purchases);
    expect(compiled[1].result).toBe(manifest.remaining.pageviews);

    // Every event the old build acknowledged and did not delete, field for field.
    for (const collection of ['purchases', 'pageviews']) {
      const res = await http(
        'GET',
        `${server.url}/3.0/projects/default/queries/extraction?${new URLSearchParams({
          event_collection: collection,
          timeframe: TIMEFRAME,
        })}`,
        { key: manifest.keys.read_key },
      );
      expect(res.status).toBe(200);
      const stored = res.body.result as JsonObject[];
      const expected = kept.filter((s) => s.collection === collection).map((s) => s.event);
      expect(stored).toHaveLength(expected.length);
      const byTime = new Map(stored.map((e) => [(e.keen as JsonObject).timestamp as string, e]));
      expect(byTime.size).toBe(expected.length);
      for (const event of expected) {
        const got = byTime.get((event.keen as JsonObject).timestamp as string);
        const { keen: gotKeen, ...gotRest } = got ?? {};
        const { keen: _k, ...sentRest } = event;
        expect(gotRest).toEqual(sentRest);
        expect((gotKeen as JsonObject).id).toMatch(/^[0-9a-f]{24}$/);
      }
    }
    await server.stop();

    const contents = new SqliteContents(dataDir);
    expect(contents.counters('default')).toEqual(contents.recount('default'));
    contents.close();

    // The same dir without the copy: the TypeScript engine gives every answer alike.
    server = await new StandaloneServer(dataDir, { QUERY_COLUMNAR: 'false' }).start();
    const reference = await answers(server.url, manifest.keys);
    expect(reference.map((a) => a.path)).toEqual(QUERIES.map(() => 'reference'));
    expect(compiled.map((a) => a.result)).toEqual(reference.map((a) => a.result));
  }, 180_000);

  it('a fill killed half-way resumes where it stopped, and the copy then answers as the engine', async () => {
    const dataDir = unpack();
    dirs.push(dataDir);
    const times = 150;
    amplify(dataDir, times);
    // Progress counts source rowids: the fixture's 3,000 (400 of them deleted), then the copies.
    const head = 3_000 + 2_600 * (times - 1);

    server = new StandaloneServer(dataDir, { LOG_LEVEL: 'info' });
    await server.start();
    server.keys = manifest.keys;
    const first = server;
    await until(
      'fill at 20% or more',
      () => /columnar copy: ([2-9]0)% \(row/.test(first.output),
      120_000,
      () => first.output,
    );
    expect(first.output).toContain(
      `columnar copy: catching up to row ${head.toLocaleString('en-US')} of the stored events;`,
    );
    expect(first.output).not.toContain('columnar copy: caught up');
    await server.kill('SIGKILL');

    server = new StandaloneServer(dataDir, { LOG_LEVEL: 'info' });
    await server.start();
    server.keys = manifest.keys;
    const second = server;
    await until(
      'the end of the fill',
      () => second.output.includes('columnar copy: caught up'),
      180_000,
      () => second.output,
    );
    const resumed =
      /catching up to row ([\d,]+) of the stored events \(resuming after row ([\d,]+)\)/.exec(
        second.output,
      );
    expect(resumed).not.toBeNull();
    const [to, after] = [resumed![1], resumed![2]].map((n) => Number(n.replace(/,/g, '')));
    expect(to).toBe(head);
    // It went on from where the killed fill's last window ended, not from the start.
    const killedAt = Math.max(
      ...[...first.output.matchAll(/columnar copy: \d+% \(row ([\d,]+) of/g)].map((m) =>
        Number(m[1].replace(/,/g, '')),
      ),
    );
    expect(after).toBeGreaterThanOrEqual(killedAt);
    expect(after).toBeLessThan(head);
    process.stderr.write(
      `upgrade resume: killed with the fill at row ${killedAt} of ${head}; resumed after row ${after}\n`,
    );
    await untilCompiled(server, 30_000);
    const compiled = await answers(server.url, manifest.keys);
    expect(compiled.map((a) => a.path)).toEqual(QUERIES.map(() => 'compiled'));
    expect(compiled[0].result).toBe(manifest.remaining.purchases * times);
    expect(compiled[1].result).toBe(manifest.remaining.pageviews * times);
    await server.stop();

    server = await new StandaloneServer(dataDir, { QUERY_COLUMNAR: 'false' }).start();
    const reference = await answers(server.url, manifest.keys);
    expect(compiled.map((a) => a.result)).toEqual(reference.map((a) => a.result));
  }, 300_000);

  it("draws the fill's progress as a bar on a terminal", async () => {
    const dataDir = unpack();
    dirs.push(dataDir);
    amplify(dataDir, 40);
    ensureCommand('script', 'bsdutils');
    const port = await freePort();
    // util-linux `script` gives the server a pseudo-terminal; its own output is the terminal's.
    const child = spawn(
      'script',
      ['-qfec', `${process.execPath} ${STANDALONE_MAIN}`, '/dev/null'],
      {
        env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    try {
      await until(
        'the end of the fill',
        () => output.includes('columnar copy: caught up'),
        120_000,
        () => output,
      );
      // 3,000 rowids of the fixture (400 deleted), then 39 copies of its 2,600 rows.
      expect(output).toContain('columnar copy: catching up to row 104,400 of the stored events;');
      expect(output).toMatch(/columnar copy \[=+\] 100% \| 104400\/104400 rows/);
      // A terminal gets the bar instead of the tenths.
      expect(output).not.toMatch(/columnar copy: \d+% \(row/);
    } finally {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        process.kill(-child.pid!, 'SIGTERM');
      });
    }
    assertNoKeysLogged(output);
  }, 180_000);
});
