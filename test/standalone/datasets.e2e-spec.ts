import { StandaloneServer } from '../support/standalone-server';
import { ensureKeenClient, runKeenScript } from '../support/python-keen';

/**
 * Cached datasets through Keen's Python client (create, get, all, results,
 * delete): built in the background from the events already stored, kept
 * current as events are written late and deleted, and every result equal to
 * the live query filtered to the index value.
 */
describe('cached datasets', () => {
  const server = new StandaloneServer(undefined, { DATASET_REFRESH_MS: '100' });
  let keys: { write_key: string; read_key: string; master_key: string };
  const DAY = 86_400_000;
  const today = Math.floor(Date.now() / DAY) * DAY;
  const at = (daysAgo: number, hour: number) =>
    new Date(today - daysAgo * DAY + hour * 3_600_000).toISOString();

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${server.url}/3.0/projects/default${path}`, {
      method,
      headers: {
        authorization: key,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  };
  const py = (action: string, args: unknown) =>
    runKeenScript(
      'keen_datasets.py',
      {
        TALLY_URL: server.url,
        TALLY_PROJECT: 'default',
        TALLY_READ_KEY: keys.read_key,
        TALLY_MASTER_KEY: keys.master_key,
      },
      [action, JSON.stringify(args)],
    );

  const COUNT = {
    analysis_type: 'count',
    event_collection: 'signups',
    timeframe: 'this_7_days',
    interval: 'daily',
    timezone: 'UTC',
  };
  const SUM = {
    analysis_type: 'sum',
    event_collection: 'signups',
    target_property: 'amount',
    group_by: 'plan',
    timeframe: 'this_7_days',
    interval: 'daily',
    timezone: 'UTC',
  };

  /** The live query for one index value, as the dataset's results must answer it. */
  const live = async (query: Record<string, unknown>, team: string, timeframe: unknown) => {
    const { analysis_type, ...rest } = query;
    const res = await call('POST', `/queries/${analysis_type}`, keys.read_key, {
      ...rest,
      timeframe,
      filters: [{ property_name: 'team', operator: 'eq', property_value: team }],
    });
    expect(res.status).toBe(200);
    return res.body.result;
  };

  /** Waits until the dataset answers what the live query does for every team (or fails after 30 s). */
  async function expectCurrent(name: string, query: Record<string, unknown>, timeframe: unknown) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      let differs = '';
      for (const team of ['red', 'blue', 'green', 'none-such']) {
        const got = await call(
          'GET',
          `/datasets/${name}/results?index_by=${team}&timeframe=${encodeURIComponent(typeof timeframe === 'string' ? timeframe : JSON.stringify(timeframe))}`,
          keys.read_key,
        );
        const want = await live(query, team, timeframe);
        if (got.status !== 200 || JSON.stringify(got.body.result) !== JSON.stringify(want)) {
          differs = `${team}: ${JSON.stringify(got.body).slice(0, 300)} vs ${JSON.stringify(want).slice(0, 300)}`;
          break;
        }
      }
      if (!differs) return;
      if (Date.now() > deadline) throw new Error(`dataset ${name} not current: ${differs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    ensureKeenClient();
    await server.start();
    keys = server.keys!;
    const teams = ['red', 'blue', 'green'];
    const events = Array.from({ length: 60 }, (_, i) => ({
      n: i,
      team: i % 7 === 0 ? undefined : teams[i % 3],
      plan: i % 2 ? 'pro' : 'free',
      amount: i,
      keen: { timestamp: at(i % 6, i % 24) },
    }));
    const res = await call('POST', '/events', keys.write_key, { signups: events });
    expect(res.status).toBe(200);
  }, 180_000);

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it("is built from the stored events and answers as the live query, through Keen's Python client", async () => {
    const created = py('create', {
      name: 'by-team',
      query: COUNT,
      index_by: 'team',
      display_name: 'Signups by team',
    });
    expect(created).toMatchObject({
      project_id: 'default',
      dataset_name: 'by-team',
      display_name: 'Signups by team',
      query: COUNT,
      index_by: ['team'],
    });
    expect(['Building', 'OK']).toContain(created.status);
    await expectCurrent('by-team', COUNT, 'this_7_days');
    expect(py('get', { name: 'by-team' })).toMatchObject({ status: 'OK', buckets_pending: 0 });
    const results = py('results', { name: 'by-team', index_by: 'red', timeframe: 'this_7_days' });
    expect(results.result).toEqual(await live(COUNT, 'red', 'this_7_days'));
    expect(results.result).toHaveLength(7);
    expect(results.result.reduce((s: number, b: any) => s + b.value, 0)).toBeGreaterThan(0);

    // group_by inside the dataset: every bucket lists every plan seen, as the live query does.
    py('create', {
      name: 'amount-by-plan',
      query: SUM,
      index_by: ['team'],
      display_name: 'Amount by plan',
    });
    const absolute = {
      start: new Date(today - 4 * DAY).toISOString(),
      end: new Date(today + DAY).toISOString(),
    };
    await expectCurrent('amount-by-plan', SUM, absolute);
    const byPlan = py('results', { name: 'amount-by-plan', index_by: 'blue', timeframe: absolute });
    expect(byPlan.result).toHaveLength(5);
    expect(byPlan.result[0].value.map((g: any) => g.plan)).toEqual(['free', 'pro']);

    const all = py('all', {});
    expect(all.datasets.map((d: any) => d.dataset_name)).toEqual(['amount-by-plan', 'by-team']);
    expect(all.next_page_url).toBeNull();
  }, 120_000);

  it('follows late events, deletes and property deletes', async () => {
    // A late event lands in its own (old) bucket.
    const late = await call('POST', '/events/signups', keys.write_key, {
      team: 'red',
      plan: 'pro',
      amount: 1000,
      keen: { timestamp: at(5, 3) },
    });
    expect(late.status).toBe(201);
    await expectCurrent('by-team', COUNT, 'this_7_days');
    await expectCurrent('amount-by-plan', SUM, 'this_7_days');
    // A filtered delete changes some buckets of some teams.
    const deleted = await call(
      'DELETE',
      `/events/signups?filters=${encodeURIComponent(
        JSON.stringify([
          { property_name: 'plan', operator: 'eq', property_value: 'free' },
          { property_name: 'n', operator: 'lt', property_value: 30 },
        ]),
      )}`,
      keys.master_key,
    );
    expect(deleted.status).toBe(204);
    await expectCurrent('by-team', COUNT, 'this_7_days');
    await expectCurrent('amount-by-plan', SUM, 'this_7_days');
    // A property delete: the amounts are gone, the sums follow.
    expect(
      (await call('DELETE', '/events/signups/properties/amount', keys.master_key)).status,
    ).toBe(204);
    await expectCurrent('amount-by-plan', SUM, 'this_7_days');
    const zero = await call(
      'GET',
      '/datasets/amount-by-plan/results?index_by=red&timeframe=this_7_days',
      keys.read_key,
    );
    expect(zero.body.result.every((b: any) => b.value.every((g: any) => g.result === 0))).toBe(
      true,
    );
  }, 120_000);

  it('refuses bad definitions and reads with clear errors, and keys without the right', async () => {
    const bad: [unknown, string][] = [
      [{ query: { ...COUNT, interval: undefined }, index_by: 'team' }, 'needs an "interval"'],
      [{ query: { ...COUNT, interval: 'every_2_days' }, index_by: 'team' }, 'needs an "interval"'],
      [
        {
          query: {
            ...COUNT,
            timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-02-01T00:00:00Z' },
          },
          index_by: 'team',
        },
        'relative "timeframe"',
      ],
      [
        { query: { ...COUNT, timeframe: 'this_7_hours' }, index_by: 'team' },
        'does not start on a bucket',
      ],
      [{ query: { ...COUNT, analysis_type: 'funnel' }, index_by: 'team' }, 'is not one'],
      [{ query: { ...COUNT, order_by: 'result' }, index_by: 'team' }, 'takes no "order_by"'],
      [{ query: { ...SUM }, index_by: 'plan' }, 'in both index_by and group_by'],
      [{ query: COUNT, index_by: [] }, '"index_by" must be'],
      [{ query: COUNT, index_by: '$team' }, "cannot start with the '$'"],
      [{ query: COUNT, index_by: 'team', surprise: true }, 'unknown field "surprise"'],
      [
        { query: { ...COUNT, interval: 'hourly', timeframe: 'this_1000_days' }, index_by: 'team' },
        'more than 20000 buckets',
      ],
    ];
    for (const [body, message] of bad) {
      const res = await call('PUT', '/datasets/bad', keys.master_key, body);
      expect({ status: res.status, message: res.body.message }).toEqual({
        status: 400,
        message: expect.stringContaining(message),
      });
    }
    expect(
      (await call('PUT', '/datasets/-bad', keys.master_key, { query: COUNT, index_by: 'team' }))
        .status,
    ).toBe(400);
    expect(
      (
        await call(
          'PUT',
          '/datasets/x',
          keys.master_key,
          '{"query":{"__proto__":{}},"index_by":"team"}',
        )
      ).status,
    ).toBe(400);
    expect(
      (await call('PUT', '/datasets/x', keys.read_key, { query: COUNT, index_by: 'team' })).status,
    ).toBe(403);
    expect((await call('DELETE', '/datasets/by-team', keys.write_key)).status).toBe(403);
    expect(
      (await call('GET', '/datasets/by-team/results?index_by=red', keys.write_key)).status,
    ).toBe(403);

    const read = (q: string) => call('GET', `/datasets/by-team/results?${q}`, keys.read_key);
    expect((await read('timeframe=this_7_days')).body.message).toContain('"index_by" is required');
    expect((await read('index_by=red&timeframe=this_30_days')).body.message).toContain(
      "outside the dataset's window",
    );
    expect((await read('index_by=red&timeframe=this_3_hours')).body.message).toContain(
      'must start and end on',
    );
    expect((await read('index_by={"plan":"pro"}&timeframe=this_7_days')).body.message).toContain(
      'not indexed by',
    );
    expect((await call('GET', '/datasets/nope/results?index_by=red', keys.read_key)).status).toBe(
      404,
    );

    // An access key: only the datasets right, only the red team's values.
    const created = await call('POST', '/keys', keys.master_key, {
      name: 'red dashboards',
      permitted: ['datasets'],
      options: {
        datasets: { operations: ['read'], allowed: { 'by-team': { index_by: { team: ['red'] } } } },
      },
    });
    const key = created.body.key;
    const red = await call(
      'GET',
      '/datasets/by-team/results?index_by=red&timeframe=this_7_days',
      key,
    );
    expect(red.body.result).toEqual(await live(COUNT, 'red', 'this_7_days'));
    expect(
      (await call('GET', '/datasets/by-team/results?index_by=blue&timeframe=this_7_days', key))
        .status,
    ).toBe(403);
    expect((await call('GET', '/datasets/amount-by-plan/results?index_by=red', key)).status).toBe(
      403,
    );
    expect((await call('GET', '/datasets', key)).status).toBe(403);
    expect((await call('POST', '/queries/count?event_collection=signups', key)).status).toBe(403);

    // Forced query filters: a dataset is read only where they select the index value.
    const scoped = await call('POST', '/keys', keys.master_key, {
      name: 'red only',
      permitted: ['datasets', 'queries'],
      options: {
        queries: { filters: [{ property_name: 'team', operator: 'eq', property_value: 'red' }] },
      },
    });
    const redOnly = scoped.body.key;
    const mine = await call(
      'GET',
      '/datasets/by-team/results?index_by=red&timeframe=this_7_days',
      redOnly,
    );
    const liveScoped = await call('POST', '/queries/count', redOnly, {
      ...COUNT,
      timeframe: 'this_7_days',
    });
    expect(mine.body.result).toEqual(liveScoped.body.result);
    const other = await call(
      'GET',
      '/datasets/by-team/results?index_by=blue&timeframe=this_7_days',
      redOnly,
    );
    expect(other).toMatchObject({
      status: 403,
      body: { error_code: 'InsufficientKeyPermissionsError' },
    });
  }, 60_000);

  it('survives a restart, and delete removes it', async () => {
    await server.stop();
    await server.start();
    const results = py('results', { name: 'by-team', index_by: 'green', timeframe: 'this_7_days' });
    expect(results.result).toEqual(await live(COUNT, 'green', 'this_7_days'));
    expect(py('delete', { name: 'by-team' })).toBe(true);
    expect(py('get', { name: 'by-team' }).error.error_code).toBe('ResourceNotFoundError');
    expect(py('all', {}).datasets.map((d: any) => d.dataset_name)).toEqual(['amount-by-plan']);
  }, 60_000);
});
