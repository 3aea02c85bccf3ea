/**
 * Cached queries on the split deployment (MongoDB metadata; events on MongoDB
 * or Cassandra): defined through nginx, computed in the background by the
 * query pool (two processes, one lease), then served from the stored answer
 * (no event read) with results equal to the same live query.
 */
import { http } from '../support/http';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS, waitFor } from '../support/split-stack';

jest.setTimeout(150_000);

const TIMEFRAME = { start: '2024-06-01T00:00:00.000Z', end: '2024-06-02T00:00:00.000Z' };

describe('split deployment: saved and cached queries', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start({ env: { SAVED_QUERY_REFRESH_CHECK_MS: '300' } });
    keys = await stack.createProject('saved-queries');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('computes a cached query on the query pool and serves it from the store, equal to the live query', async () => {
    const events = Array.from({ length: 9 }, (_, i) => ({
      plan: i % 3 === 0 ? 'pro' : 'free',
      amount: i + 1,
      keen: { timestamp: new Date(Date.UTC(2024, 5, 1) + i * 3600_000).toISOString() },
    }));
    const write = await http('POST', stack.url(keys.id, '/events'), {
      key: keys.write_key,
      body: { signups: events },
    });
    expect(write.status).toBe(200);
    await waitFor(async () => (await stack.storedCount(keys.id, 'signups')) === 9, 30_000);

    const query = {
      analysis_type: 'sum',
      event_collection: 'signups',
      target_property: 'amount',
      timeframe: TIMEFRAME,
      group_by: 'plan',
    };
    const put = await http('PUT', stack.url(keys.id, '/queries/saved/by-plan'), {
      key: keys.master_key,
      body: { query, refresh_rate: 86_400, metadata: { display_name: 'By plan' } },
    });
    expect([put.status, put.body.query_name, put.body.run_information.computed_at]).toEqual([
      201,
      'by-plan',
      null,
    ]);

    const cached = await waitFor(async () => {
      const res = await http('GET', stack.url(keys.id, '/queries/saved/by-plan/result'), {
        key: keys.read_key,
      });
      return res.body?.run_information?.served_from === 'cache' ? res.body : null;
    }, 30_000);
    expect(cached).not.toBeNull();
    const { analysis_type: _, ...params } = query;
    const live = await http('POST', stack.url(keys.id, '/queries/sum'), {
      key: keys.read_key,
      body: params,
    });
    const byPlan = (rows: { plan: string; result: number }[]) =>
      [...rows].sort((a, b) => a.plan.localeCompare(b.plan));
    expect(byPlan(cached.result)).toEqual(byPlan(live.body.result));
    expect(byPlan(cached.result)).toEqual([
      { plan: 'free', result: 2 + 3 + 5 + 6 + 8 + 9 },
      { plan: 'pro', result: 1 + 4 + 7 },
    ]);
    expect(cached.run_information).toMatchObject({ served_from: 'cache', events_scanned: 0 });
    expect(Date.parse(cached.run_information.next_refresh_at)).toBe(
      Date.parse(cached.run_information.computed_at) + 86_400_000,
    );

    // Both query processes answer from the same stored answer (nginx alternates between them).
    const again = await Promise.all(
      [1, 2, 3, 4].map(() =>
        http('GET', stack.url(keys.id, '/queries/saved/by-plan/result'), { key: keys.master_key }),
      ),
    );
    expect(new Set(again.map((r) => r.body.run_information.computed_at))).toEqual(
      new Set([cached.run_information.computed_at]),
    );

    // A forced refresh from the CLI is computed by the pool within a check.
    const refreshed = await stack.cli(
      'saved-queries',
      'refresh',
      keys.id,
      'by-plan',
      '--wait',
      '30',
      '--json',
    );
    expect({ code: refreshed.code, stderr: refreshed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(Date.parse(JSON.parse(refreshed.stdout).run_information.computed_at)).toBeGreaterThan(
      Date.parse(cached.run_information.computed_at),
    );
  });
});
