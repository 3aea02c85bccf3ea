/**
 * Per-project retention on the standalone server: a TTL set by the master key
 * (or the CLI) makes the server's retention sweep queue background delete
 * jobs, which remove exactly the events past it through the normal delete
 * path: younger events are untouched (ids and bodies), other projects and
 * collections too, and the schema counters equal a recount of what is left.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { CLI_MAIN, StandaloneServer } from '../support/standalone-server';

jest.setTimeout(90_000);

const run = promisify(execFile);
const DAY = 86_400_000;

describe('standalone: per-project retention', () => {
  const server = new StandaloneServer(undefined, {
    RETENTION_SWEEP_INTERVAL_MS: '1000',
    DELETE_JOB_LEASE_MS: '1000',
    // Small batches: the job's progress moves in several steps.
    DELETE_JOB_BATCH_SIZE: '2',
  });
  const now = Date.now();
  const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();

  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const url = (project: string) => `${server.url}/3.0/projects/${project}/retention`;
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [CLI_MAIN, ...args, '--json'], {
      env: {
        ...process.env,
        DATA_DIR: server.dataDir,
        TALLY_STACK_FILE: '/nonexistent/stack.json',
      },
    });
    return JSON.parse(stdout);
  };
  const stored = (project: string, collection: string) => {
    const contents = new SqliteContents(server.dataDir);
    try {
      return contents.events(project, collection).map((e) => [e.id, e.event]);
    } finally {
      contents.close();
    }
  };
  const countersMatchRecount = (project: string) => {
    const contents = new SqliteContents(server.dataDir);
    try {
      expect(contents.counters(project)).toEqual(contents.recount(project));
      return contents.counters(project);
    } finally {
      contents.close();
    }
  };
  async function until<T>(what: string, check: () => Promise<T | null>, ms = 30_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; the server said:\n${server.output.slice(-2000)}`,
        );
      await sleep(100);
    }
  }

  it('deletes the events past the TTL through delete jobs, counters exact, the rest untouched', async () => {
    const keys = server.keys!;
    const ages = [50, 45, 40, 31, 29, 10, 0];
    const visits = ages.map((d, i) => ({
      n: i,
      ...(d > 30 ? { legacy: { source: 'v1', tags: ['old'] } } : { page: `/p${i}` }),
      keen: { timestamp: at(d) },
    }));
    const fresh = [{ n: 100, keen: { timestamp: at(1) } }];
    const res = await http('POST', `${server.url}/3.0/projects/default/events`, {
      key: keys.write_key,
      body: { visits, fresh },
    });
    expect(res.status).toBe(200);
    const before = stored('default', 'visits');
    const freshBefore = stored('default', 'fresh');
    expect(before).toHaveLength(7);

    // No retention: sweeps come and go, nothing is deleted.
    expect((await http('GET', url('default'), { key: keys.master_key })).body).toEqual({
      days: null,
      sweep_interval_ms: 1000,
      jobs: [],
    });
    await sleep(2500);
    expect(stored('default', 'visits')).toEqual(before);

    // Master key only; days a whole number from 1 to 36500, and nothing else in the body.
    expect(
      (await http('PUT', url('default'), { key: keys.read_key, body: { days: 30 } })).status,
    ).toBe(403);
    expect(
      (await http('PUT', url('default'), { key: keys.write_key, body: { days: 30 } })).status,
    ).toBe(403);
    for (const body of [
      {},
      { days: 0 },
      { days: 1.5 },
      { days: '30' },
      { days: 36_501 },
      { days: 30, extra: 1 },
      [30],
    ]) {
      const bad = await http('PUT', url('default'), { key: keys.master_key, body });
      expect([bad.status, bad.body.error_code]).toEqual([400, 'InvalidParameterError']);
    }

    const set = await http('PUT', url('default'), { key: keys.master_key, body: { days: 30 } });
    expect([set.status, set.body.days, set.body.sweep_interval_ms]).toEqual([200, 30, 1000]);

    // The sweep queues one job for "visits" (nothing in "fresh" is past the TTL); it runs to the end.
    const view = await until('the retention job to finish', async () => {
      const r = await http('GET', url('default'), { key: keys.master_key });
      return r.body.jobs.length === 1 && r.body.jobs[0].state === 'done' ? r.body : null;
    });
    const job = view.jobs[0];
    expect(job).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      kind: 'delete',
      collection: 'visits',
      filters: [],
      timeframe: { start: '0001-01-01T00:00:00.000Z', end: expect.any(String) },
      timezone: expect.anything(),
      state: 'done',
      events_scanned: 4,
      events_deleted: 4,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    // The cutoff is the TTL rounded down to a UTC day.
    const cutoff = Date.parse(job.timeframe.end);
    expect(cutoff).toBe(Math.floor((now - 30 * DAY) / DAY) * DAY);
    expect(
      (
        await http('GET', `${server.url}/3.0/projects/default/jobs/${job.id}`, {
          key: keys.master_key,
        })
      ).body,
    ).toEqual(job);

    expect(stored('default', 'visits')).toEqual(before.slice(4));
    expect(stored('default', 'fresh')).toEqual(freshBefore);
    const counters = countersMatchRecount('default');
    expect(Object.keys(counters).filter((k) => k.startsWith('visits|legacy'))).toEqual([]);
    expect(counters['visits|page|string']).toBe(3);

    // Later sweeps find nothing more to delete and queue nothing.
    await sleep(2500);
    expect(stored('default', 'visits')).toEqual(before.slice(4));

    const cleared = await http('DELETE', url('default'), { key: keys.master_key });
    expect([cleared.status, cleared.body]).toEqual([
      200,
      { days: null, sweep_interval_ms: 1000, jobs: [] },
    ]);
  });

  it('is set, shown and cleared from the CLI, and applies to that project only', async () => {
    const shop = await cli('projects', 'create', 'shop');
    const post = (project: string, key: string, events: object[]) =>
      http('POST', `${server.url}/3.0/projects/${project}/events/orders`, { key, body: events[0] });
    // The server learns the new project's keys at its next key-cache refresh.
    await until('the server to know the new project', async () => {
      const r = await http('GET', `${server.url}/3.0/projects/${shop.id}/retention`, {
        key: shop.master_key,
      });
      return r.status === 200 ? r : null;
    });
    for (const d of [9, 8, 2]) {
      expect(
        (await post(shop.id, shop.write_key, [{ d, keen: { timestamp: at(d) } }])).status,
      ).toBe(201);
      expect(
        (await post('default', server.keys!.write_key, [{ d, keen: { timestamp: at(d) } }])).status,
      ).toBe(201);
    }
    const defaultOrders = stored('default', 'orders');

    expect(await cli('retention', 'set', shop.id, '7')).toEqual({ project: shop.id, days: 7 });
    const shown = await until('the shop retention job to finish', async () => {
      const s = await cli('retention', 'show', shop.id);
      return s.jobs.length === 1 && s.jobs[0].state === 'done' ? s : null;
    });
    expect(shown).toEqual({
      project: shop.id,
      days: 7,
      jobs: [expect.objectContaining({ collection: 'orders', state: 'done', events_deleted: 2 })],
    });
    expect(stored(shop.id, 'orders').map(([, e]) => (e as any).d)).toEqual([2]);
    countersMatchRecount(shop.id);
    // The project without a retention keeps every event.
    expect(stored('default', 'orders')).toEqual(defaultOrders);
    countersMatchRecount('default');

    expect(await cli('retention', 'clear', shop.id)).toEqual({ project: shop.id, days: null });
    expect((await http('GET', url(shop.id), { key: shop.master_key })).body.days).toBeNull();
    await expect(cli('retention', 'set', shop.id, '0')).rejects.toMatchObject({
      stderr: expect.stringContaining('"days" must be a whole number of days from 1 to 36500'),
    });
  });
});
