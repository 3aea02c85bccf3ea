import { StandaloneServer } from '../support/standalone-server';
import { keenClients } from '../support/keen-clients';
import { http } from '../support/http';

/**
 * Every analysis type and every response shape through the unmodified
 * keen-analysis client, with expected values computed here from the events.
 */
describe('keen-analysis: every analysis and response shape', () => {
  const server = new StandaloneServer();
  let analysis: any;
  let restore: () => void;

  // Two days, 90-minute steps: 16 events a day.
  const T0 = Date.UTC(2024, 4, 1);
  const events = Array.from({ length: 32 }, (_, i) => ({
    amount: (i % 8) + 1,
    os: i % 3 === 0 ? 'mac' : i % 3 === 1 ? 'linux' : null,
    user: `u${i % 6}`,
    keen: { timestamp: new Date(T0 + i * 5_400_000).toISOString() },
  }));
  const signups = ['u0', 'u1', 'u2', 'u3'].map((user, i) => ({
    user,
    keen: { timestamp: new Date(T0 + i * 3600_000).toISOString() },
  }));
  const purchasesAfter = ['u0', 'u2', 'u9'].map((user, i) => ({
    user,
    keen: { timestamp: new Date(T0 + 86_400_000 + i * 3600_000).toISOString() },
  }));
  const timeframe = { start: '2024-05-01T00:00:00.000Z', end: '2024-05-03T00:00:00.000Z' };
  const day1 = { start: '2024-05-01T00:00:00.000Z', end: '2024-05-02T00:00:00.000Z' };
  const day2 = { start: '2024-05-02T00:00:00.000Z', end: '2024-05-03T00:00:00.000Z' };
  const amounts = events.map((e) => e.amount);
  const sorted = [...amounts].sort((a, b) => a - b);
  const sum = amounts.reduce((a, b) => a + b, 0);
  const mean = sum / amounts.length;

  const q = (type: string, params: Record<string, unknown>) =>
    analysis.query(type, { event_collection: 'events', timeframe, timezone: 'UTC', ...params });

  beforeAll(async () => {
    await server.start();
    ({ analysis, restore } = keenClients(server));
    const res = await http('POST', `${server.url}/3.0/projects/default/events`, {
      body: { events, signups, purchases: purchasesAfter },
      key: server.keys!.write_key,
    });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    restore();
    await server.stop();
    server.remove();
  });

  it('answers every single-value analysis', async () => {
    expect(await q('count', {})).toEqual({ result: 32 });
    expect(await q('count_unique', { target_property: 'user' })).toEqual({ result: 6 });
    expect(await q('sum', { target_property: 'amount' })).toEqual({ result: sum });
    expect((await q('average', { target_property: 'amount' })).result).toBeCloseTo(mean, 10);
    expect(await q('minimum', { target_property: 'amount' })).toEqual({ result: 1 });
    expect(await q('maximum', { target_property: 'amount' })).toEqual({ result: 8 });
    expect(await q('median', { target_property: 'amount' })).toEqual({ result: (sorted[15] + sorted[16]) / 2 });
    const sd = Math.sqrt(amounts.reduce((a, x) => a + (x - mean) ** 2, 0) / amounts.length);
    expect((await q('standard_deviation', { target_property: 'amount' })).result).toBeCloseTo(sd, 10);
    const p = (await q('percentile', { target_property: 'amount', percentile: 100 })).result;
    expect(p).toBe(8);
    expect([...(await q('select_unique', { target_property: 'os' })).result].sort()).toEqual(['linux', 'mac']);
  });

  it('returns group_by rows with null for a missing group value', async () => {
    const res = await q('count', { group_by: 'os' });
    const rows = [...res.result].sort((a: any, b: any) => String(a.os).localeCompare(String(b.os)));
    const count = (os: string | null) => events.filter((e) => e.os === os).length;
    expect(rows).toEqual([
      { os: 'linux', result: count('linux') },
      { os: 'mac', result: count('mac') },
      { os: null, result: count(null) },
    ]);
    const two = await q('sum', { target_property: 'amount', group_by: ['os', 'user'], order_by: [{ property_name: 'result', direction: 'DESC' }], limit: 2 });
    expect(two.result).toHaveLength(2);
    expect(Object.keys(two.result[0]).sort()).toEqual(['os', 'result', 'user']);
    expect(two.result[0].result).toBeGreaterThanOrEqual(two.result[1].result);
  });

  it('returns interval buckets, every one present', async () => {
    const res = await q('count', { interval: 'daily' });
    expect(res.result).toEqual([
      { timeframe: day1, value: 16 },
      { timeframe: day2, value: 16 },
    ]);
    const empty = await q('average', { target_property: 'amount', interval: 'daily', timeframe: { start: '2024-05-02T00:00:00.000Z', end: '2024-05-04T00:00:00.000Z' } });
    expect(empty.result[1]).toEqual({ timeframe: { start: '2024-05-03T00:00:00.000Z', end: '2024-05-04T00:00:00.000Z' }, value: null });
  });

  it('nests group_by inside interval buckets', async () => {
    const res = await q('count', { interval: 'daily', group_by: 'os' });
    expect(res.result).toHaveLength(2);
    for (const [i, bucket] of res.result.entries()) {
      expect(bucket.timeframe).toEqual(i === 0 ? day1 : day2);
      const dayEvents = events.slice(i * 16, i * 16 + 16);
      const got = Object.fromEntries(bucket.value.map((row: any) => [String(row.os), row.result]));
      expect(got).toEqual({
        mac: dayEvents.filter((e) => e.os === 'mac').length,
        linux: dayEvents.filter((e) => e.os === 'linux').length,
        null: dayEvents.filter((e) => e.os === null).length,
      });
    }
  });

  it('computes several analyses in one multi_analysis, plain, grouped and by interval', async () => {
    const analyses = {
      total: { analysis_type: 'sum', target_property: 'amount' },
      how_many: { analysis_type: 'count' },
    };
    expect(await q('multi_analysis', { analyses })).toEqual({ result: { total: sum, how_many: 32 } });
    const grouped = await q('multi_analysis', { analyses, group_by: 'os' });
    const mac = events.filter((e) => e.os === 'mac');
    expect(grouped.result).toContainEqual({ os: 'mac', total: mac.reduce((a, e) => a + e.amount, 0), how_many: mac.length });
    const byDay = await q('multi_analysis', { analyses, interval: 'daily' });
    expect(byDay.result[0]).toEqual({
      timeframe: day1,
      value: { total: events.slice(0, 16).reduce((a, e) => a + e.amount, 0), how_many: 16 },
    });
  });

  it('runs a funnel with actors', async () => {
    const res = await analysis.query('funnel', {
      timeframe,
      timezone: 'UTC',
      steps: [
        { event_collection: 'signups', actor_property: 'user', with_actors: true },
        { event_collection: 'purchases', actor_property: 'user', with_actors: true },
      ],
    });
    expect(res.result).toEqual([4, 2]);
    expect(res.steps).toHaveLength(2);
    expect(res.steps[0]).toMatchObject({ event_collection: 'signups', actor_property: 'user' });
    expect([...res.actors[0]].sort()).toEqual(['u0', 'u1', 'u2', 'u3']);
    expect([...res.actors[1]].sort()).toEqual(['u0', 'u2']);
  });

  it('extracts events, latest and projected', async () => {
    const all = await q('extraction', {});
    expect(all.result.map((e: any) => e.keen.timestamp)).toEqual(events.map((e) => e.keen.timestamp));
    expect(all.result.map((e: any) => e.amount)).toEqual(amounts);
    const latest = await q('extraction', { latest: 2, property_names: ['amount'] });
    expect(latest.result).toEqual([{ amount: events[30].amount }, { amount: events[31].amount }]);
  });

  it('adds execution metadata on request', async () => {
    const res = await q('count', { include_metadata: true });
    expect(res.result).toBe(32);
    expect(res.execution_metadata).toMatchObject({ events_scanned: 32 });
    expect(typeof res.execution_metadata.total_processing_time).toBe('number');
  });
});
