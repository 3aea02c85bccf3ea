import { StandaloneServer } from '../support/standalone-server';
import { keenClients } from '../support/keen-clients';

/**
 * Keen's own, unmodified SDKs against a running standalone server: what they
 * write must come back from their queries exactly as computed from the events.
 */
describe('Keen SDK compatibility (keen-tracking + keen-analysis)', () => {
  const server = new StandaloneServer();
  let tracking: any;
  let analysis: any;
  let restore: () => void;

  const day = Date.UTC(2024, 2, 1);
  const purchases = Array.from({ length: 40 }, (_, i) => ({
    price: Math.round((i * 7.3 + 1) * 100) / 100,
    quantity: (i % 5) + 1,
    country: ['FR', 'US', 'DE', 'JP'][i % 4],
    user: { id: `u${i % 9}`, premium: i % 3 === 0 },
    keen: { timestamp: new Date(day + i * 3600_000 * 0.5).toISOString() },
  }));
  const timeframe = { start: '2024-03-01T00:00:00.000Z', end: '2024-03-02T00:00:00.000Z' };

  beforeAll(async () => {
    await server.start();
    ({ tracking, analysis, restore } = keenClients(server));
  });

  afterAll(async () => {
    restore();
    await server.stop();
    server.remove();
  });

  const query = (analysisType: string, params: Record<string, unknown>) =>
    analysis.query(analysisType, { event_collection: 'purchases', timeframe, timezone: 'UTC', ...params });

  it('records single events and batches', async () => {
    for (const event of purchases.slice(0, 10)) {
      const res = await tracking.recordEvent('purchases', event);
      expect(res).toEqual({ created: true });
    }
    const res = await tracking.recordEvents({ purchases: purchases.slice(10), visits: [{ page: '/a' }, { page: '/b' }] });
    expect(res.purchases).toHaveLength(30);
    expect(res.purchases.every((r: { success: boolean }) => r.success)).toBe(true);
    expect(res.visits).toEqual([{ success: true }, { success: true }]);
  });

  it('counts, with and without filters', async () => {
    expect(await query('count', {})).toEqual({ result: 40 });
    const fr = purchases.filter((p) => p.country === 'FR').length;
    expect(await query('count', { filters: [{ property_name: 'country', operator: 'eq', property_value: 'FR' }] })).toEqual({
      result: fr,
    });
    const big = purchases.filter((p) => p.price > 100 && p.user.premium).length;
    expect(
      await query('count', {
        filters: [
          { property_name: 'price', operator: 'gt', property_value: 100 },
          { property_name: 'user.premium', operator: 'eq', property_value: true },
        ],
      }),
    ).toEqual({ result: big });
  });

  it('sums, averages, minimum and maximum', async () => {
    const prices = purchases.map((p) => p.price);
    const sum = prices.reduce((a, b) => a + b, 0);
    expect((await query('sum', { target_property: 'price' })).result).toBeCloseTo(sum, 6);
    expect((await query('average', { target_property: 'price' })).result).toBeCloseTo(sum / prices.length, 6);
    expect(await query('minimum', { target_property: 'price' })).toEqual({ result: Math.min(...prices) });
    expect(await query('maximum', { target_property: 'price' })).toEqual({ result: Math.max(...prices) });
  });

  it('counts unique values and selects them', async () => {
    const users = [...new Set(purchases.map((p) => p.user.id))].sort();
    expect(await query('count_unique', { target_property: 'user.id' })).toEqual({ result: users.length });
    const selected = await query('select_unique', { target_property: 'user.id' });
    expect([...selected.result].sort()).toEqual(users);
  });

  it('groups by a property', async () => {
    const res = await query('count', { group_by: 'country' });
    const expected = ['FR', 'US', 'DE', 'JP'].map((country) => ({
      country,
      result: purchases.filter((p) => p.country === country).length,
    }));
    expect([...res.result].sort((a: any, b: any) => a.country.localeCompare(b.country))).toEqual(
      expected.sort((a, b) => a.country.localeCompare(b.country)),
    );
    const sums = await query('sum', { target_property: 'quantity', group_by: ['user.premium'] });
    const premium = purchases.filter((p) => p.user.premium).reduce((a, p) => a + p.quantity, 0);
    const regular = purchases.filter((p) => !p.user.premium).reduce((a, p) => a + p.quantity, 0);
    expect([...sums.result].sort((a: any, b: any) => Number(a['user.premium']) - Number(b['user.premium']))).toEqual([
      { 'user.premium': false, result: regular },
      { 'user.premium': true, result: premium },
    ]);
  });

  it('extracts events field for field, latest and property_names too', async () => {
    const all = await query('extraction', {});
    expect(all.result).toHaveLength(40);
    const byTimestamp = new Map(all.result.map((e: any) => [e.keen.timestamp, e]));
    for (const sent of purchases) {
      const got: any = byTimestamp.get(sent.keen.timestamp);
      expect(got).toBeDefined();
      const { keen, ...body } = got;
      const { keen: sentKeen, ...sentBody } = sent;
      expect(body).toEqual(sentBody);
      expect(keen.timestamp).toBe(sentKeen.timestamp);
      expect(keen.id).toMatch(/^[0-9a-f]{24}$/);
      expect(typeof keen.created_at).toBe('string');
    }
    const latest = await query('extraction', { latest: 3 });
    const newest = [...purchases].sort((a, b) => b.keen.timestamp.localeCompare(a.keen.timestamp)).slice(0, 3);
    expect(latest.result.map((e: any) => e.keen.timestamp).sort()).toEqual(newest.map((e) => e.keen.timestamp).sort());
    const projected = await query('extraction', { property_names: ['country', 'user.id'], latest: 1 });
    expect(projected.result).toEqual([{ country: newest[0].country, user: { id: newest[0].user.id } }]);
  });

  it('serves the schema it inferred', async () => {
    const res = await fetch(`${server.url}/3.0/projects/default/events/purchases`, {
      headers: { authorization: server.keys!.read_key },
    });
    const schema: any = await res.json();
    expect(schema.properties).toMatchObject({
      price: 'num',
      quantity: 'num',
      country: 'string',
      'user.id': 'string',
      'user.premium': 'bool',
      'keen.timestamp': 'datetime',
      'keen.id': 'string',
    });
    expect(schema.property_types.price).toEqual({ num: 40 });
  });

  it('reports query errors the way keen-analysis surfaces them', async () => {
    await expect(query('count', { timeframe: 'this_7_fortnights' })).rejects.toMatchObject({
      code: expect.stringMatching(/Error$/),
    });
  });
});
