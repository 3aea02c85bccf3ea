import { CollectionEvent, JsonObject } from '@app/events';
import { executeQuery, parseQuery, QueryResponse } from '@app/query-engine';
import { expectSameAnswer } from '@app/query-engine/testing';
import { MongoEventStore } from '../mongo-event.store';
import { MongoMetadataStore } from '../mongo-metadata.store';
import { mongoEventPersister } from '../testing/mongo-persister';
import { startTestMongo, TestMongo } from '../testing/test-mongo';
import { MongoCompiledQueries } from './mongo-compiled-queries';
import { writeMarker } from '../../ports/write-marker';
import { schemaView } from './schema-kinds';

/**
 * Queries an analyst runs every day, over properties that always hold one
 * kind of value: each must be answered by the pipeline (not declined) and
 * equal the TypeScript engine's answer over the same store. Then the cases
 * that must go to the engine, each for its stated reason.
 */

const DAY = 86_400_000;
const START = Date.UTC(2024, 2, 1); // March 2024: New York changes to DST on the 10th
const NOW = new Date(START + 40 * DAY);

function events(): CollectionEvent[] {
  const out: CollectionEvent[] = [];
  const countries = ['DE', 'FR', 'US', 'JP'];
  for (let i = 0; i < 600; i++) {
    const timestamp = START + Math.floor((i * 30 * DAY) / 600) + (i % 7) * 3_600_000;
    out.push({
      id: `ev-${String(i).padStart(4, '0')}`,
      collection: 'purchases',
      timestamp,
      event: {
        price: (i % 50) + 0.25,
        quantity: i % 5,
        user: { id: `u${i % 97}`, country: countries[i % 4] },
        paid: i % 3 !== 0,
        ...(i % 10 === 0 ? {} : { coupon: i % 20 === 1 ? null : `c${i % 6}` }),
        keen: {
          id: `ev-${String(i).padStart(4, '0')}`,
          timestamp: new Date(timestamp).toISOString(),
        },
      },
    });
  }
  return out;
}

const timeframe = {
  start: new Date(START).toISOString(),
  end: new Date(START + 30 * DAY).toISOString(),
};

const COMPILED: [string, string, Record<string, unknown>][] = [
  ['count', 'count', { event_collection: 'purchases', timeframe }],
  [
    'count eq',
    'count',
    {
      event_collection: 'purchases',
      timeframe,
      filters: [{ property_name: 'user.country', operator: 'eq', property_value: 'DE' }],
    },
  ],
  [
    'count or',
    'count',
    {
      event_collection: 'purchases',
      timeframe,
      filters: [
        {
          operator: 'or',
          operands: [
            { property_name: 'user.country', operator: 'eq', property_value: 'US' },
            { property_name: 'price', operator: 'gte', property_value: 40 },
          ],
        },
      ],
    },
  ],
  [
    'count ne/exists/in/contains',
    'count',
    {
      event_collection: 'purchases',
      timeframe,
      filters: [
        { property_name: 'coupon', operator: 'ne', property_value: 'c1' },
        { property_name: 'coupon', operator: 'exists', property_value: true },
        { property_name: 'user.country', operator: 'in', property_value: ['DE', 'JP', null] },
        { property_name: 'user.id', operator: 'contains', property_value: '1' },
      ],
    },
  ],
  [
    'null eq',
    'count',
    {
      event_collection: 'purchases',
      timeframe,
      filters: [{ property_name: 'coupon', operator: 'eq', property_value: null }],
    },
  ],
  [
    'sum group_by',
    'sum',
    {
      event_collection: 'purchases',
      timeframe,
      target_property: 'price',
      group_by: 'user.country',
    },
  ],
  [
    'average, min, max by two properties',
    'multi_analysis',
    {
      event_collection: 'purchases',
      timeframe,
      group_by: ['user.country', 'paid'],
      analyses: {
        avg: { analysis_type: 'average', target_property: 'price' },
        low: { analysis_type: 'minimum', target_property: 'price' },
        high: { analysis_type: 'maximum', target_property: 'price' },
        n: { analysis_type: 'count' },
      },
    },
  ],
  [
    'count_unique',
    'count_unique',
    { event_collection: 'purchases', timeframe, target_property: 'user.id' },
  ],
  [
    'count_unique by interval',
    'count_unique',
    {
      event_collection: 'purchases',
      timeframe,
      target_property: 'user.id',
      interval: 'weekly',
      timezone: 'Europe/Paris',
    },
  ],
  [
    'daily count in New York (DST)',
    'count',
    { event_collection: 'purchases', timeframe, interval: 'daily', timezone: 'America/New_York' },
  ],
  [
    'monthly sum by group',
    'sum',
    {
      event_collection: 'purchases',
      timeframe: 'this_2_months',
      target_property: 'quantity',
      interval: 'monthly',
      group_by: 'coupon',
      timezone: 'Asia/Tokyo',
    },
  ],
  [
    'select_unique',
    'select_unique',
    { event_collection: 'purchases', timeframe, target_property: 'coupon' },
  ],
  [
    'order_by and limit',
    'count',
    {
      event_collection: 'purchases',
      timeframe,
      group_by: 'user.id',
      order_by: [{ property_name: 'result', direction: 'DESC' }],
      limit: 5,
    },
  ],
  [
    'median (two passes)',
    'median',
    { event_collection: 'purchases', timeframe, target_property: 'price' },
  ],
  [
    'percentile 90 with a filter',
    'percentile',
    {
      event_collection: 'purchases',
      timeframe,
      target_property: 'price',
      percentile: 90,
      filters: [{ property_name: 'paid', operator: 'eq', property_value: true }],
    },
  ],
  [
    'percentile 0',
    'percentile',
    { event_collection: 'purchases', timeframe, target_property: 'quantity', percentile: 0 },
  ],
  [
    'percentile 100',
    'percentile',
    { event_collection: 'purchases', timeframe, target_property: 'quantity', percentile: 100 },
  ],
  [
    'percentile 33.3',
    'percentile',
    { event_collection: 'purchases', timeframe, target_property: 'price', percentile: 33.3 },
  ],
  [
    'standard_deviation (two passes)',
    'standard_deviation',
    { event_collection: 'purchases', timeframe, target_property: 'price' },
  ],
  [
    'a string ordered',
    'count',
    {
      event_collection: 'purchases',
      timeframe,
      filters: [{ property_name: 'user.id', operator: 'lt', property_value: 'u5' }],
    },
  ],
];

describe('MongoDB-compiled queries: what compiles, what is declined', () => {
  let server: TestMongo;
  let store: MongoEventStore;
  let compiled: MongoCompiledQueries;

  beforeAll(async () => {
    server = await startTestMongo();
    store = new MongoEventStore({ url: server.url, database: 'compiled_examples' });
    await store.init();
    await store.insert('p', events());
    await store.insert(
      'q',
      events().map((e) => ({ ...e, id: `q-${e.id}` })),
    );
    compiled = new MongoCompiledQueries(store);
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  async function both(
    analysis: string,
    params: Record<string, unknown>,
  ): Promise<[QueryResponse | string, QueryResponse]> {
    const query = parseQuery(analysis, params);
    const got = await compiled.answer('p', query, { limits: {}, now: NOW });
    const reference = await executeQuery(query, store, { projectId: 'p', now: NOW });
    return ['response' in got ? got.response : got.declined, reference];
  }

  it.each(COMPILED)(
    '%s: answered by the pipeline, equal to the engine',
    async (_name, analysis, params) => {
      const [answer, reference] = await both(analysis, params);
      expect(typeof answer).toBe('object');
      expectSameAnswer(answer, reference);
    },
  );

  it('the pipeline sends only result cells: one document per (bucket, group)', () => {
    const query = parseQuery('sum', COMPILED[5][2]);
    const compilation = compiled.compile('p', query, { now: NOW });
    if (!('compiled' in compilation)) throw new Error(compilation.declined);
    const [match, group] = compilation.compiled.pipeline;
    expect(match.$match).toMatchObject({
      p: 'p',
      c: 'purchases',
      t: { $gte: new Date(START), $lt: new Date(START + 30 * DAY) },
    });
    // One group_by property: its bare value is the key (missing and null together).
    expect(group.$group._id).toBe('$e.user.country');
    expect(compilation.compiled.pipeline.some((stage) => '$sort' in stage)).toBe(false);
  });

  it('another project with the same events is not counted', async () => {
    const [answer] = await both('count', { event_collection: 'purchases', timeframe });
    const inRange = events().filter((e) => e.timestamp < START + 30 * DAY).length;
    expect(inRange).toBeGreaterThan(590);
    expect(answer).toEqual({ result: inRange });
  });

  it("include_metadata: the timeframe's events as scanned, and the engine's per-event figures", async () => {
    const params = {
      event_collection: 'purchases',
      timeframe,
      include_metadata: true,
      filters: [{ property_name: 'user.country', operator: 'eq', property_value: 'DE' }],
    };
    const [answer, reference] = await both('count', params);
    if (typeof answer === 'string') throw new Error(`declined: ${answer}`);
    expect(answer.result).toBe(reference.result);
    // The pipeline reads the collection's events in the timeframe (only this
    // project's) and filters them; the engine's scan pushes the eq filter
    // down, so it reports fewer.
    const inRange = events().filter((e) => e.timestamp < START + 30 * DAY).length;
    expect(answer.execution_metadata).toEqual({
      total_processing_time: expect.any(Number),
      events_scanned: inRange,
      properties_per_event: 2,
      total_properties_scanned: 2 * inRange,
    });
    expect(reference.execution_metadata?.properties_per_event).toBe(2);
  });

  describe('declined, then answered by the engine', () => {
    const declined: [string, string, Record<string, unknown>, RegExp][] = [
      [
        'percentile by group',
        'percentile',
        {
          event_collection: 'purchases',
          timeframe,
          target_property: 'price',
          percentile: 90,
          group_by: 'paid',
        },
        /percentile with group_by or interval/,
      ],
      [
        'regex',
        'count',
        {
          event_collection: 'purchases',
          timeframe,
          filters: [{ property_name: 'coupon', operator: 'regex', property_value: '^c' }],
        },
        /regex/,
      ],
      [
        'a path starting with $',
        'count',
        { event_collection: 'purchases', timeframe, group_by: '$where' },
        /field path/,
      ],
      [
        'count_unique beside another',
        'multi_analysis',
        {
          event_collection: 'purchases',
          timeframe,
          analyses: {
            u: { analysis_type: 'count_unique', target_property: 'user.id' },
            n: { analysis_type: 'count' },
          },
        },
        /count_unique beside/,
      ],
    ];
    it.each(declined)('%s', async (_name, analysis, params, reason) => {
      const [answer] = await both(analysis, params);
      expect(answer).toMatch(reason);
    });
  });

  describe('unsure values send the query to the engine, whose answer is then exact', () => {
    beforeAll(async () => {
      await store.insert('p', [
        {
          id: 'odd-1',
          collection: 'mixed',
          timestamp: START + DAY,
          event: { price: '12', tags: ['a', 'b'], obj: { b: 1, a: 2 } },
        },
        {
          id: 'odd-2',
          collection: 'mixed',
          timestamp: START + DAY,
          event: { price: 12, tags: 'a', obj: { a: 2, b: 1 } },
        },
      ]);
    });
    const cases: [string, string, Record<string, unknown>, number][] = [
      // Keen: "12" equals 12; MongoDB: it does not.
      [
        'a numeric string against a number',
        'count',
        {
          event_collection: 'mixed',
          timeframe,
          filters: [{ property_name: 'price', operator: 'eq', property_value: 12 }],
        },
        1,
      ],
      // Keen: an array matches when an element does.
      [
        'an array against a scalar',
        'count',
        {
          event_collection: 'mixed',
          timeframe,
          filters: [{ property_name: 'tags', operator: 'eq', property_value: 'a' }],
        },
        1,
      ],
      // Keen: {b, a} and {a, b} are one group; MongoDB: two.
      ['objects as groups', 'count', { event_collection: 'mixed', timeframe, group_by: 'obj' }, 2],
    ];
    it.each(cases)('%s', async (_name, analysis, params, unsure) => {
      const [answer, reference] = await both(analysis, params);
      expect(answer).toBe(`${unsure} events hold values the pipeline cannot judge as Keen does`);
      expect(reference.result).toEqual(
        analysis === 'count' && !params.group_by ? 2 : [{ obj: { a: 2, b: 1 }, result: 2 }],
      );
    });
  });

  describe('with the schema counters (as the query pool runs it)', () => {
    let metadata: MongoMetadataStore;
    let counted: MongoCompiledQueries;
    const at = START + 2 * DAY;
    const event = (id: string, body: JsonObject): CollectionEvent => ({
      id,
      collection: 'signups',
      timestamp: at,
      event: body,
    });

    beforeAll(async () => {
      metadata = new MongoMetadataStore({ url: server.url, database: 'compiled_examples' });
      await metadata.init();
      counted = new MongoCompiledQueries(store, metadata);
      await mongoEventPersister({ events: store, metadata }).persist('s', [
        event('s1', { plan: 'pro', seats: 3 }),
        event('s2', { plan: 'free', seats: 1 }),
        event('s3', { plan: 'pro', seats: 5 }),
      ]);
    });
    afterAll(() => metadata?.close());

    const byPlan = {
      event_collection: 'signups',
      timeframe,
      group_by: 'plan',
      filters: [{ property_name: 'seats', operator: 'gt', property_value: 1 }],
    };

    it('a property that only ever held one kind: the type tests run only on events whose counters may not be applied', async () => {
      const query = parseQuery('maximum', { ...byPlan, target_property: 'seats' });
      const got = await counted.answer('s', query, { limits: {}, now: NOW });
      expect(got).toEqual({ response: { result: [{ plan: 'pro', result: 5 }] } });
      const plain = compiled.compile('s', query, { now: NOW });
      if (!('compiled' in plain)) throw new Error(plain.declined);
      // Without the counters every event is tested; with them, only events whose
      // marker was pending at the read or is recent.
      expect(JSON.stringify(plain.compiled.pipeline)).not.toContain('"$m"');
      const schema = await schemaView(metadata, 's', 'signups');
      expect(schema.markers?.pending).toEqual([]);
      const cheap = counted.compile('s', query, { now: NOW, schema });
      if (!('compiled' in cheap)) throw new Error(cheap.declined);
      const flag = cheap.compiled.pipeline[1].$group.u.$sum;
      expect(flag.$cond[0]).toEqual({ $gte: ['$m', schema.markers!.since] });
      expect(flag.$cond[2]).toBe(0);
      expect(cheap.compiled.pipeline[1].$group.m0).toEqual({ $max: '$e.seats' });
    });

    it('an event of a delivery still pending, begun long ago, with an unsure value sends the query to the engine', async () => {
      // Older than any clock margin: only the pending list read with the counters marks it.
      const marker = writeMarker(Date.now() - 3_600_000, 'deaddelivery', 1);
      await metadata.registerMarker('s', ['signups'], marker);
      await store.insertMarked('s', [event('s4', { plan: 'pro', seats: '7' })], marker);
      const query = parseQuery('count', {
        ...byPlan,
        filters: [{ property_name: 'seats', operator: 'gt', property_value: 4 }],
      });
      expect((await schemaView(metadata, 's', 'signups')).markers?.pending).toEqual([marker]);
      const got = await counted.answer('s', query, { limits: {}, now: NOW });
      expect(got).toEqual({
        declined: '1 events hold values the pipeline cannot judge as Keen does',
      });
      // The engine counts "7" as greater than 4, as Keen does.
      const reference = await executeQuery(query, store, { projectId: 's', now: NOW });
      expect(reference.result).toEqual([{ plan: 'pro', result: 2 }]);
    });
  });
});
