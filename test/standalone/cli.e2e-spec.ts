/**
 * The operator's CLI against a standalone installation: keys managed while the
 * server runs (a revoked key is refused after the key-cache refresh), a
 * collection exported after the server stopped and imported into a fresh data
 * dir (events and schema counters equal field for field; a second import
 * stores nothing), refused lines reported by number, and the choice of
 * installation when a stack file names a stack that is down.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { CLI_MAIN, StandaloneServer } from '../support/standalone-server';

const execFileAsync = promisify(execFile);

/** The caller's environment without anything that picks an installation. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.DATA_DIR;
  delete env.STORE;
  delete env.TALLY_STACK_FILE;
  return env;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; resolves with its exit code instead of throwing. */
function cli(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: options.cwd,
      env: { ...baseEnv(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** `--json` output: exactly one JSON document on one line. */
function json(result: CliResult): any {
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
    code: 0,
    stderr: '',
  });
  const lines = result.stdout.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  return JSON.parse(lines[0]);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Counters of one collection only (the source also has others). */
function countersOf(all: Record<string, number>, collection: string): Record<string, number> {
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(`${collection}|`)));
}

/** Polls a request until it answers `status` (the key caches reload every 200 ms here). */
async function untilStatus(send: () => Promise<number>, status: number): Promise<number> {
  let last = 0;
  for (let attempt = 0; attempt < 50; attempt++) {
    last = await send();
    if (last === status) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

const PLANS = ['free', 'pro', 'team', null];

/** Events of every JSON type, nested objects and arrays, client timestamps over four days. */
function purchase(i: number) {
  return {
    n: i,
    plan: PLANS[i % 4],
    price: i % 5 === 0 ? String(i) : i * 1.25,
    paid: i % 3 === 0,
    user: {
      id: `u${i % 17}`,
      tags: i % 2 ? ['a', 'b'] : [],
      address: { city: i % 7 ? 'Lyon' : 'Köln 日本' },
    },
    ...(i % 11 === 0 ? { coupon: { code: 'X', pct: 10 } } : {}),
    keen: { timestamp: new Date(Date.UTC(2024, 2, 10) + i * 20 * 60_000).toISOString() },
  };
}
const SEEDED = 300;

describe('standalone: the operator CLI', () => {
  const server = new StandaloneServer(undefined, { KEY_CACHE_REFRESH_MS: '200' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-cli-'));
  const fresh = path.join(work, 'fresh');
  const exported = path.join(work, 'purchases.ndjson');
  let src: Record<string, string>;

  beforeAll(async () => {
    await server.start();
    src = { DATA_DIR: server.dataDir };
    const key = server.keys!.write_key;
    const events = Array.from({ length: SEEDED }, (_, i) => purchase(i));
    const batch = await http('POST', `${server.url}/3.0/projects/default/events`, {
      body: { purchases: events.slice(0, 250), other: [{ x: 1 }] },
      key,
    });
    expect(batch.status).toBe(200);
    for (const event of events.slice(250)) {
      const one = await http('POST', `${server.url}/3.0/projects/default/events/purchases`, {
        body: event,
        key,
      });
      expect(one.status).toBe(201);
    }
  });

  afterAll(async () => {
    await server.stop();
    server.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('creates, lists, revokes and rotates keys; the running server follows within its key-cache refresh', async () => {
    const write = (key: string) =>
      http('POST', `${server.url}/3.0/projects/default/events/keyed`, { body: { k: 1 }, key }).then(
        (r) => r.status,
      );
    const read = (key: string) =>
      http('GET', `${server.url}/3.0/projects/default/queries/count?event_collection=purchases`, {
        key,
      }).then((r) => r.status);

    const created = json(
      await cli(['keys', 'create', 'default', '--role', 'write', '--json'], src),
    );
    expect(Object.keys(created).sort()).toEqual(['created_at', 'hash_prefix', 'key', 'role']);
    expect(created.role).toBe('write');
    expect(created.key).toMatch(/^[0-9a-f]{64}$/);
    expect(created.hash_prefix).toBe(sha256(created.key).slice(0, 12));
    expect(await untilStatus(() => write(created.key), 201)).toBe(201);

    const original = server.keys!;
    const listed = await cli(['keys', 'list', 'default', '--json'], src);
    for (const plain of [created.key, original.write_key, original.read_key, original.master_key])
      expect(listed.stdout).not.toContain(plain);
    const list = json(listed);
    expect(list.map((k: { role: string; hash_prefix: string }) => [k.role, k.hash_prefix])).toEqual(
      [
        ['write', sha256(original.write_key).slice(0, 12)],
        ['write', created.hash_prefix],
        ['read', sha256(original.read_key).slice(0, 12)],
        ['master', sha256(original.master_key).slice(0, 12)],
      ],
    );
    expect(list[1].created_at).toBe(created.created_at);

    // Text output for people: a header and one line per key, the installation on stderr.
    const text = await cli(['keys', 'list', 'default'], src);
    expect(text.code).toBe(0);
    expect(text.stderr).toBe(`tally: acting on the data dir ${server.dataDir} (SQLite)\n`);
    expect(text.stdout.trim().split('\n')).toHaveLength(5);

    const revoked = json(
      await cli(['keys', 'revoke', 'default', created.hash_prefix.slice(0, 8), '--json'], src),
    );
    expect(revoked).toEqual({
      revoked: { role: 'write', hash_prefix: created.hash_prefix, created_at: created.created_at },
    });
    expect(await untilStatus(() => write(created.key), 401)).toBe(401);
    // The other write key is untouched.
    expect(await write(original.write_key)).toBe(201);

    // Rotation of the read key: the new one answers, the old one is refused.
    expect(await read(original.read_key)).toBe(200);
    const rotated = json(await cli(['keys', 'rotate', 'default', '--role', 'read', '--json'], src));
    expect(rotated.created.role).toBe('read');
    expect(rotated.revoked).toEqual([
      {
        role: 'read',
        hash_prefix: sha256(original.read_key).slice(0, 12),
        created_at: list[2].created_at,
      },
    ]);
    expect(await untilStatus(() => read(rotated.created.key), 200)).toBe(200);
    expect(await untilStatus(() => read(original.read_key), 401)).toBe(401);
    const after = json(await cli(['keys', 'list', 'default', '--json'], src));
    expect(after.map((k: { hash_prefix: string }) => k.hash_prefix)).toEqual([
      sha256(original.write_key).slice(0, 12),
      rotated.created.hash_prefix,
      sha256(original.master_key).slice(0, 12),
    ]);

    // Clear one-line errors with exit code 1.
    for (const [args, message] of [
      [
        ['keys', 'create', 'default', '--role', 'admin'],
        'Error: A key role is one of write, read, master; got "admin".',
      ],
      [
        ['keys', 'revoke', 'default', 'ab'],
        'Error: Name the key by at least 6 hex characters of its hash (as "keys list" shows them).',
      ],
      [
        ['keys', 'revoke', 'default', '000000000000'],
        'Error: Project "default" has no key whose hash starts with 000000000000.',
      ],
      [['keys', 'list', 'nope', '--json'], 'Error: Project "nope" does not exist.'],
    ] as const) {
      const failed = await cli([...args], src);
      expect({
        code: failed.code,
        stdout: failed.stdout,
        last: failed.stderr.trim().split('\n').pop(),
      }).toEqual({
        code: 1,
        stdout: '',
        last: message,
      });
    }
  });

  it('exports a collection after the server stopped and imports it into a fresh data dir: equal events and counters; a second import stores nothing', async () => {
    await server.stop();
    const source = new SqliteContents(server.dataDir);
    const sourceEvents = source.events('default', 'purchases');
    const sourceCounters = countersOf(source.counters('default'), 'purchases');
    source.close();
    expect(sourceEvents).toHaveLength(SEEDED);

    const out = await cli(['export', 'default', 'purchases', '--output', exported, '--json'], src);
    expect(json(out)).toEqual({ exported: SEEDED, scanned: SEEDED });
    const lines = fs.readFileSync(exported, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const bodies = lines.map((l) => JSON.parse(l));
    // The stored bodies, keen.id, keen.timestamp and keen.created_at included.
    expect(bodies).toEqual(sourceEvents.map((e) => e.event));
    expect(bodies.map((b) => b.keen.id)).toEqual(sourceEvents.map((e) => e.id));
    for (const b of bodies)
      expect(Object.keys(b.keen).sort()).toEqual(['created_at', 'id', 'timestamp']);

    // To stdout as well, byte for byte the same.
    const piped = await cli(['export', 'default', 'purchases'], src);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(fs.readFileSync(exported, 'utf8'));
    expect(piped.stderr).toBe(
      `tally: acting on the data dir ${server.dataDir} (SQLite)\nexported ${SEEDED} events (${SEEDED} read)\n`,
    );

    // A fresh installation with the same project id.
    json(
      await cli(['projects', 'create', 'copy', '--id', 'default', '--json'], { DATA_DIR: fresh }),
    );
    const imported = await cli(
      ['import', 'default', 'purchases', exported, '--batch-size', '70', '--json'],
      {
        DATA_DIR: fresh,
      },
    );
    expect(json(imported)).toEqual({ imported: SEEDED, duplicates: 0, refused: 0 });

    const check = () => {
      const copy = new SqliteContents(fresh);
      try {
        expect(copy.events('default', 'purchases')).toEqual(sourceEvents);
        expect(copy.events('default', 'other')).toEqual([]);
        expect(copy.counters('default')).toEqual(sourceCounters);
        expect(copy.counters('default')).toEqual(copy.recount('default'));
      } finally {
        copy.close();
      }
    };
    check();
    // Its own export is the same file.
    expect((await cli(['export', 'default', 'purchases'], { DATA_DIR: fresh })).stdout).toBe(
      fs.readFileSync(exported, 'utf8'),
    );

    // Twice: every event is a duplicate; nothing stored or counted again. Through stdin this time.
    const again = await cli(
      ['import', 'default', 'purchases', '-', '--json'],
      { DATA_DIR: fresh },
      {
        input: fs.readFileSync(exported, 'utf8'),
      },
    );
    expect(json(again)).toEqual({ imported: 0, duplicates: SEEDED, refused: 0 });
    check();
  });

  it('exports the events a filter and timeframe select', async () => {
    const source = new SqliteContents(server.dataDir);
    const all = source.events('default', 'purchases');
    source.close();
    const start = '2024-03-11T00:00:00.000Z';
    const end = '2024-03-12T00:00:00.000Z';
    const expected = all.filter((e) => {
      const at = (e.event.keen as { timestamp: string }).timestamp;
      return e.event.plan === 'pro' && at >= start && at < end;
    });
    expect(expected.length).toBeGreaterThan(5);
    const out = await cli(
      [
        'export',
        'default',
        'purchases',
        '--filters',
        JSON.stringify([{ property_name: 'plan', operator: 'eq', property_value: 'pro' }]),
        '--timeframe',
        JSON.stringify({ start, end }),
        '--timezone',
        'Europe/Paris',
      ],
      src,
    );
    expect(out.code).toBe(0);
    expect(
      out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(expected.map((e) => e.event));
  });

  it('refuses invalid lines by number and stores the rest once', async () => {
    const id = (n: number) => `65ee${String(n).padStart(20, '0')}`;
    const event = (n: number, extra: object = {}) =>
      JSON.stringify({
        n,
        ...extra,
        keen: {
          id: id(n),
          timestamp: '2024-03-12T10:00:00.000Z',
          created_at: '2024-03-12T10:00:01.000Z',
        },
      });
    const input = [
      event(1),
      '{"n": 2, "keen": {"id": "not-an-id", "timestamp": "2024-03-12T10:00:00.000Z"}}',
      '',
      'not json',
      event(3, { 'bad.name': 1 }),
      JSON.stringify({ n: 4, keen: { id: id(4) } }),
      '{"__proto__": {"admin": true}, "keen": {"id": "' +
        id(5) +
        '", "timestamp": "2024-03-12T10:00:00Z"}}',
      event(6),
      event(1),
    ].join('\n');
    const result = await cli(
      ['import', 'default', 'mixed', '-', '--json'],
      { DATA_DIR: fresh },
      { input },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ imported: 2, duplicates: 1, refused: 5 });
    expect(
      result.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/ refused: .*/, '')),
    ).toEqual(['line 2', 'line 4', 'line 5', 'line 6', 'line 7']);
    expect(result.stderr).toContain(
      'line 2 refused: "keen.id" must be 24 lowercase hex characters',
    );
    expect(result.stderr).toContain('line 7 refused: The line holds the property name "__proto__"');
    const copy = new SqliteContents(fresh);
    expect(copy.events('default', 'mixed').map((e) => [e.id, e.event.n])).toEqual([
      [id(1), 1],
      [id(6), 6],
    ]);
    expect(copy.counters('default')).toEqual(copy.recount('default'));
    copy.close();
    // The standalone server keeps dead letters in its memory: the CLI says so.
    const dl = await cli(['dead-letters', 'list'], { DATA_DIR: fresh });
    expect(dl.code).toBe(1);
    expect(dl.stderr.trim().split('\n').pop()).toMatch(
      /^Error: dead letters are not available on a standalone \(SQLite\) installation/,
    );
  });

  it('after the stack is down, follows DATA_DIR (and says the stack is not up when none is given)', async () => {
    // A checkout whose .stack/stack.json records a stack whose processes are gone
    // (`npm run stack -- down` leaves the file; the pid records name dead processes).
    const checkout = path.join(work, 'checkout');
    const stateDir = path.join(checkout, '.stack');
    fs.mkdirSync(path.join(stateDir, 'run'), { recursive: true });
    fs.writeFileSync(
      path.join(stateDir, 'stack.json'),
      JSON.stringify({
        version: 1,
        stateDir,
        store: 'cassandra',
        env: {
          STORE: 'cassandra',
          MONGO_URL: 'mongodb://127.0.0.1:1/tally',
          CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042',
          ID_SECRET: 'x'.repeat(64),
        },
        services: [
          { name: 'mongo', kind: 'mongo', port: 1 },
          { name: 'cassandra', kind: 'cassandra', port: 9042 },
        ],
      }),
    );
    const { stdout: stat } = await execFileAsync('cat', ['/proc/self/stat']);
    const exited = Number(stat.split(' ')[0]);
    fs.writeFileSync(
      path.join(stateDir, 'run', 'mongo.json'),
      JSON.stringify({ name: 'mongo', pid: exited, startTime: '1' }),
    );

    const dataDir = path.join(work, 'x');
    const created = await cli(
      ['projects', 'create', 'x', '--id', 'x'],
      { DATA_DIR: dataDir },
      { cwd: checkout },
    );
    expect(created.code).toBe(0);
    expect(created.stderr).toBe(`tally: acting on the data dir ${dataDir} (SQLite)\n`);
    expect(created.stdout).toMatch(/^project x \(x\)\n/);

    const implicit = await cli(['projects', 'list', '--json'], {}, { cwd: checkout });
    expect(implicit.code).toBe(0);
    expect(implicit.stderr).toBe(
      `tally: the stack recorded in ${path.join(stateDir, 'stack.json')} is not up (mongo, cassandra not running); using the data dir\n`,
    );
    expect(JSON.parse(implicit.stdout)).toEqual([]);
    expect(fs.existsSync(path.join(checkout, 'data', 'tally.db'))).toBe(true);
  });
});
