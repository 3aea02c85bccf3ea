/**
 * Cached datasets on the split stack: events written through nginx and the
 * worker (which records what changed), the dataset defined and read through
 * the query pool, built and kept current by the query processes' maintainers
 * — after a late event and a delete too — with every result equal to the live
 * query (docs/datasets.md).
 */
import { http } from '../support/http';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS } from '../support/split-stack';

jest.setTimeout(180_000);

describe('split deployment: cached datasets', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  const DAY = 86_400_000;
  const now = Date.now();
  const today = Math.floor(now / DAY) * DAY;
  // Never after now: the query's `this_5_days` ends now, so an event later
  // today (the spec running before noon UTC) would be left out of every answer
  // while the expected sums below count it.
  const at = (daysAgo: number, hour: number) =>
    new Date(Math.min(today - daysAgo * DAY + hour * 3_600_000, now - 60_000)).toISOString();
  const QUERY = {
    analysis_type: 'sum',
    event_collection: 'orders',
    target_property: 'amount',
    timeframe: 'this_5_days',
    interval: 'daily',
    timezone: 'America/New_York',
  };

  beforeAll(async () => {
    stack = await SplitStack.start({ env: { DATASET_REFRESH_MS: '100' } });
    keys = await stack.createProject('datasets');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const url = (rest: string) => stack.url(keys.id, rest);

  async function expectCurrent(): Promise<void> {
    const deadline = Date.now() + 60_000;
    let last = '';
    while (Date.now() < deadline) {
      let same = true;
      for (const shop of ['north', 'south', 'none']) {
        const got = await http('GET', url(`/datasets/amounts/results?index_by=${shop}`), {
          key: keys.read_key,
        });
        const { analysis_type, ...rest } = QUERY;
        const want = await http('POST', url(`/queries/${analysis_type}`), {
          key: keys.read_key,
          body: {
            ...rest,
            filters: [{ property_name: 'shop', operator: 'eq', property_value: shop }],
          },
        });
        if (
          got.status !== 200 ||
          JSON.stringify(got.body.result) !== JSON.stringify(want.body.result)
        ) {
          same = false;
          last = `${shop}: ${JSON.stringify(got.body).slice(0, 300)} vs ${JSON.stringify(want.body).slice(0, 300)}`;
          break;
        }
      }
      if (same) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the dataset did not catch up: ${last}`);
  }

  it('is built by the query pool, follows writes, late events and deletes, and equals the live query', async () => {
    const events = Array.from({ length: 40 }, (_, i) => ({
      marker: `d${i}`,
      shop: i % 3 === 0 ? 'north' : 'south',
      amount: i,
      keen: { timestamp: at(i % 4, (i * 5) % 24) },
    }));
    expect(
      (await http('POST', url('/events'), { key: keys.write_key, body: { orders: events } }))
        .status,
    ).toBe(200);
    await stack.waitForMarkers(
      keys.id,
      'orders',
      events.map((e) => e.marker),
      60_000,
    );

    const put = await http('PUT', url('/datasets/amounts'), {
      key: keys.master_key,
      body: { display_name: 'Amounts per shop', index_by: 'shop', query: QUERY },
    });
    expect(put.status).toBe(201);
    await expectCurrent();
    const built = await http('GET', url('/datasets/amounts'), { key: keys.read_key });
    expect(built.body).toMatchObject({ status: 'OK', buckets_pending: 0, index_by: ['shop'] });
    const north = await http('GET', url('/datasets/amounts/results?index_by=north'), {
      key: keys.read_key,
    });
    expect(north.body.result).toHaveLength(5);
    const northTotal = events.filter((e) => e.shop === 'north').reduce((s, e) => s + e.amount, 0);
    expect(north.body.result.reduce((s: number, b: any) => s + b.value, 0)).toBe(northTotal);

    // A late event (three days back) through the ingest pool and the worker.
    const late = { marker: 'late', shop: 'north', amount: 1000, keen: { timestamp: at(3, 2) } };
    expect(
      (await http('POST', url('/events/orders'), { key: keys.write_key, body: late })).status,
    ).toBe(201);
    await stack.waitForMarkers(keys.id, 'orders', ['late'], 60_000);
    await expectCurrent();

    // A filtered delete through the query pool.
    const filters = encodeURIComponent(
      JSON.stringify([{ property_name: 'amount', operator: 'gte', property_value: 20 }]),
    );
    expect(
      (await http('DELETE', url(`/events/orders?filters=${filters}`), { key: keys.master_key }))
        .status,
    ).toBe(204);
    await expectCurrent();
    const after = await http('GET', url('/datasets/amounts/results?index_by=north'), {
      key: keys.read_key,
    });
    const remaining = events
      .filter((e) => e.shop === 'north' && e.amount < 20)
      .reduce((s, e) => s + e.amount, 0);
    expect(after.body.result.reduce((s: number, b: any) => s + b.value, 0)).toBe(remaining);
  });
});
