/**
 * fast-check arbitraries for events and queries covering every analysis,
 * filter operator, timeframe form, interval, group_by shape and several DST
 * timezones. Values come from small pools on purpose: collisions (equal
 * groups, numeric strings, datetimes in several notations) are where
 * semantics bugs live. Reused by the store contract suite.
 */
import { JsonValue } from '@app/events';
import fc from 'fast-check';
import { COLLECTIONS, NOW_CHOICES, scalarArb, strip } from './event-arbitraries';

export const TIMEZONES: (string | number | undefined)[] = [
  undefined,
  0,
  -25200,
  19800,
  '3600',
  'UTC',
  'America/New_York',
  'Europe/London',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
];

export const PROPERTIES = [
  'n',
  's',
  'tags',
  'user.id',
  'user.plan',
  'o',
  'o.x',
  'geo',
  'missing',
  'keen.timestamp',
];
const GROUPABLE = ['s', 'user.id', 'o', 'tags', 'missing', 'n'];
const ACTORS = ['user.id', 's', 'n'];
const INTERVALS = [
  'minutely',
  'hourly',
  'daily',
  'weekly',
  'monthly',
  'yearly',
  'every_6_hours',
  'every_2_days',
  'every_3_weeks',
  'every_90_minutes',
];
const UNITS = ['minute', 'hour', 'day', 'week', 'month', 'year'];
const METRICS = [
  'count',
  'count_unique',
  'sum',
  'average',
  'minimum',
  'maximum',
  'median',
  'percentile',
  'standard_deviation',
  'select_unique',
];

const DAY = 86_400_000;

const leafFilterArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    property_name: fc.constantFrom(...PROPERTIES),
    operator: fc.constantFrom('eq', 'ne', 'contains', 'not_contains'),
    property_value: scalarArb,
  }),
  fc.record({
    property_name: fc.constantFrom(...PROPERTIES),
    operator: fc.constantFrom('lt', 'lte', 'gt', 'gte'),
    property_value: scalarArb.filter((v) => v !== null),
  }),
  fc.record({
    property_name: fc.constantFrom(...PROPERTIES),
    operator: fc.constant('in'),
    property_value: fc.array(scalarArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    property_name: fc.constantFrom(...PROPERTIES),
    operator: fc.constant('exists'),
    property_value: fc.boolean(),
  }),
  fc.record({
    property_name: fc.constantFrom(...PROPERTIES),
    operator: fc.constant('regex'),
    property_value: fc.constantFrom('^a', 'b$', '1', '^2024-03', '.*', 'a|B', '^\\s*\\d+\\s*$'),
  }),
  fc.record({
    property_name: fc.constantFrom('geo', 'n', 'tags'),
    operator: fc.constant('within'),
    property_value: fc.record({
      coordinates: fc.constant([-122.4, 37.8]),
      max_distance_miles: fc.constantFrom(5, 50, 100, 200),
    }),
  }),
  fc.record({
    property_name: fc.constant('keen.id'),
    operator: fc.constantFrom('eq', 'ne'),
    property_value: fc.constantFrom<JsonValue>('e0001', 'e0003', 'nope'),
  }),
  fc.record({
    property_name: fc.constant('keen.id'),
    operator: fc.constant('in'),
    property_value: fc.constantFrom<JsonValue>(['e0000', 'e0002', 'e0005'], ['e0001'], []),
  }),
);

export const filtersArb: fc.Arbitrary<Record<string, unknown>[]> = fc.oneof(
  fc.constant<Record<string, unknown>[]>([]),
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: leafFilterArb },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.array(leafFilterArb, { minLength: 1, maxLength: 3 }), fc.boolean())
          .map(([ops, underValue]) =>
            underValue
              ? { operator: 'or', property_value: ops }
              : { operator: 'or', operands: ops },
          ),
      },
    ),
    { minLength: 1, maxLength: 2 },
  ),
);

const isoIn = (ms: number, form: number): string => {
  const iso = new Date(ms).toISOString();
  if (form === 0) return iso;
  if (form === 1) return iso.slice(0, 19); // offset-less: read in the query timezone
  return iso.slice(0, 19) + '+05:30';
};

export const timeframeArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('today', 'yesterday'),
  fc
    .tuple(
      fc.constantFrom('this', 'previous'),
      fc.integer({ min: 1, max: 6 }),
      fc.constantFrom(...UNITS),
      fc.boolean(),
    )
    .map(([edge, n, unit, singular]) =>
      singular && n === 1 ? `${edge}_${unit}` : `${edge}_${n}_${unit}s`,
    ),
  fc
    .tuple(
      fc.constantFrom(...NOW_CHOICES),
      fc.integer({ min: -40 * 24, max: 24 }),
      fc.integer({ min: 0, max: 30 * 24 }),
      fc.integer({ min: 0, max: 2 }),
    )
    .map(([anchor, startH, lenH, form]) => {
      const start = Date.parse(anchor) + startH * 3_600_000;
      // Offset-less bounds are both read in the query timezone, so they stay ordered;
      // a +05:30 end gets a week of slack so it stays after a Z start.
      const end = start + lenH * 3_600_000 + (form === 2 ? 7 * DAY : 0);
      return { start: isoIn(start, form === 1 ? 1 : 0), end: isoIn(end, form) };
    }),
);

const metricArb = fc.record({
  analysis_type: fc.constantFrom(...METRICS),
  target_property: fc.constantFrom(...PROPERTIES),
  percentile: fc.constantFrom(0, 25, 50, 90, 99.5, 100),
});

const groupingArb = (orderable: string[]) =>
  fc.option(
    fc
      .tuple(
        fc.uniqueArray(fc.constantFrom(...GROUPABLE), { minLength: 1, maxLength: 2 }),
        fc.boolean(),
        fc.option(
          fc.array(fc.tuple(fc.nat(), fc.constantFrom('ASC', 'DESC')), {
            minLength: 1,
            maxLength: 2,
          }),
          { nil: undefined },
        ),
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      )
      .map(([groups, asString, order, limit]) => {
        const names = [...orderable, ...groups];
        const order_by = order?.map(([i, direction]) => ({
          property_name: names[i % names.length],
          direction,
        }));
        return strip({
          group_by: asString && groups.length === 1 ? groups[0] : groups,
          order_by,
          limit: order_by ? limit : undefined,
        });
      }),
    { nil: undefined },
  );

const scopeArb = fc.record({
  event_collection: fc.constantFrom(...COLLECTIONS),
  timeframe: timeframeArb,
  timezone: fc.constantFrom(...TIMEZONES),
  filters: filtersArb,
});

const intervalArb = fc.option(fc.constantFrom(...INTERVALS), { nil: undefined, freq: 2 });

export interface GeneratedQuery {
  analysis: string;
  params: Record<string, unknown>;
}

export const metricQueryArb: fc.Arbitrary<GeneratedQuery> = fc
  .tuple(scopeArb, metricArb, groupingArb(['result']), intervalArb)
  .map(([scope, metric, grouping, interval]) => ({
    analysis: metric.analysis_type,
    params: strip({
      ...scope,
      ...metric,
      ...(grouping ?? {}),
      interval: scope.timeframe ? interval : undefined,
    }),
  }));

export const multiQueryArb: fc.Arbitrary<GeneratedQuery> = fc
  .tuple(
    scopeArb,
    fc.array(metricArb, { minLength: 1, maxLength: 3 }),
    groupingArb(['l0', 'l1', 'l2']),
    intervalArb,
  )
  .map(([scope, metrics, grouping, interval]) => {
    const analyses: Record<string, unknown> = {};
    metrics.forEach((m, i) => (analyses[`l${i}`] = m));
    const labels = Object.keys(analyses);
    const order_by = (grouping?.order_by as { property_name: string }[] | undefined)?.filter(
      (o) => labels.includes(o.property_name) || !o.property_name.startsWith('l'),
    );
    return {
      analysis: 'multi_analysis',
      params: strip({
        ...scope,
        analyses,
        ...(grouping ?? {}),
        order_by: order_by?.length ? order_by : undefined,
        limit: order_by?.length ? grouping?.limit : undefined,
        interval: scope.timeframe ? interval : undefined,
      }),
    };
  });

export const extractionQueryArb: fc.Arbitrary<GeneratedQuery> = fc
  .tuple(
    scopeArb,
    fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    fc.option(
      fc.uniqueArray(fc.constantFrom(...PROPERTIES, 'keen.id', 'user'), {
        minLength: 1,
        maxLength: 3,
      }),
      { nil: undefined },
    ),
  )
  .map(([scope, latest, property_names]) => ({
    analysis: 'extraction',
    params: strip({ ...scope, latest, property_names }),
  }));

export const funnelQueryArb: fc.Arbitrary<GeneratedQuery> = fc
  .tuple(
    fc.array(
      fc.record({
        event_collection: fc.constantFrom(...COLLECTIONS),
        actor_property: fc.constantFrom(...ACTORS),
        filters: filtersArb,
        optional: fc.boolean(),
        inverted: fc.boolean(),
        with_actors: fc.boolean(),
        timeframe: fc.option(timeframeArb, { nil: undefined, freq: 2 }),
        timezone: fc.option(fc.constantFrom(...TIMEZONES), { nil: undefined, freq: 2 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    timeframeArb,
    fc.constantFrom(...TIMEZONES),
  )
  .map(([steps, timeframe, timezone]) => ({
    analysis: 'funnel',
    params: strip({
      timeframe,
      timezone,
      steps: steps.map((s, i) => strip({ ...s, inverted: i === 0 ? undefined : s.inverted })),
    }),
  }));

export const anyQueryArb: fc.Arbitrary<GeneratedQuery> = fc.oneof(
  { weight: 5, arbitrary: metricQueryArb },
  { weight: 2, arbitrary: multiQueryArb },
  { weight: 2, arbitrary: extractionQueryArb },
  { weight: 2, arbitrary: funnelQueryArb },
);

/** The same parameters as a GET query string would deliver them (all strings). */
export function asQueryString(params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}
