import { TallyError } from '@app/events';
import { MAX_MULTI_ANALYSES, parseQuery } from './parse-query';

/** What a GET query string gives the controller for the same parameters. */
const asQueryString = (params: Record<string, unknown>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params))
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
};

const errorOf = (fn: () => unknown): TallyError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof TallyError) return e;
    throw e;
  }
  throw new Error('expected an error');
};

describe('parseQuery: GET and POST parity', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['count', { event_collection: 'pageviews', timeframe: 'this_7_days', timezone: -28800 }],
    [
      'sum',
      {
        event_collection: 'purchases',
        target_property: 'price',
        timeframe: { start: '2024-01-01T00:00:00.000Z', end: '2024-02-01T00:00:00.000Z' },
        filters: [{ property_name: 'user.country', operator: 'in', property_value: ['DE', 'FR'] }],
        group_by: ['user.country', 'platform'],
        interval: 'weekly',
        order_by: [{ property_name: 'result', direction: 'DESC' }],
        limit: 5,
        include_metadata: true,
      },
    ],
    [
      'percentile',
      { event_collection: 'c', target_property: 'ms', percentile: 99.5, timezone: 'Europe/London' },
    ],
    ['extraction', { event_collection: 'c', latest: 10, property_names: ['keen.id', 'user.id'] }],
    [
      'multi_analysis',
      {
        event_collection: 'c',
        analyses: {
          total: { analysis_type: 'sum', target_property: 'n' },
          n: { analysis_type: 'count' },
        },
        group_by: 'os',
        order_by: { property_name: 'total', direction: 'asc' },
      },
    ],
    [
      'funnel',
      {
        timeframe: 'this_30_days',
        steps: [
          { event_collection: 'signup', actor_property: 'user.id' },
          {
            event_collection: 'buy',
            actor_property: 'user.id',
            optional: true,
            with_actors: true,
            timezone: 3600,
          },
        ],
      },
    ],
  ];

  it.each(cases)('%s parses the same from a query string and a JSON body', (type, params) => {
    const post = parseQuery(type, { ...params, analysis_type: type });
    const get = parseQuery(type, asQueryString(params));
    expect(get).toEqual(post);
  });

  it('normalises the parsed query', () => {
    expect(parseQuery('sum', cases[1][1])).toMatchObject({
      analysis_type: 'sum',
      event_collection: 'purchases',
      target_property: 'price',
      timezone: 'UTC',
      group_by: ['user.country', 'platform'],
      interval: { unit: 'week', count: 1 },
      order_by: [{ property_name: 'result', direction: 'DESC' }],
      limit: 5,
      include_metadata: true,
    });
    expect(parseQuery('count', { event_collection: 'c', timezone: '-28800' }).timezone).toBe(
      'UTC-8',
    );
    expect(parseQuery('count', { event_collection: 'c', group_by: 'a.b' })).toMatchObject({
      group_by: ['a.b'],
    });
    expect(
      parseQuery('count', { event_collection: 'c', include_metadata: 'false' }).include_metadata,
    ).toBe(false);
  });

  it('funnel steps inherit the funnel timeframe and timezone', () => {
    const q = parseQuery('funnel', cases[5][1]);
    expect(q).toMatchObject({
      steps: [
        {
          timezone: 'UTC',
          timeframe: { raw: 'this_30_days' },
          optional: false,
          echo: { timeframe: null },
        },
        {
          timezone: 'UTC+1',
          timeframe: { raw: 'this_30_days' },
          optional: true,
          with_actors: true,
        },
      ],
    });
  });

  it('ignores null and empty optional parameters (clients send both)', () => {
    expect(
      parseQuery('count', {
        event_collection: 'c',
        timeframe: null,
        filters: '',
        group_by: null,
        interval: '',
      }),
    ).toEqual(parseQuery('count', { event_collection: 'c' }));
  });
});

describe('parseQuery: errors name the parameter', () => {
  it('answers 404 for an unknown analysis', () => {
    const e = errorOf(() => parseQuery('mode', { event_collection: 'c' }));
    expect(e.kind).toBe('not_found');
    expect(e.errorCode).toBe('ResourceNotFoundError');
  });

  it.each([
    ['count', {}, 'event_collection'],
    ['count', { event_collection: 5 }, 'event_collection'],
    ['sum', { event_collection: 'c' }, 'target_property'],
    ['percentile', { event_collection: 'c', target_property: 'x' }, 'percentile'],
    [
      'percentile',
      { event_collection: 'c', target_property: 'x', percentile: '101' },
      'percentile',
    ],
    ['count', { event_collection: 'c', timeframe: 'this_week_or_so' }, 'timeframe'],
    ['count', { event_collection: 'c', timezone: 'Nowhere/City' }, 'timezone'],
    ['count', { event_collection: 'c', interval: 'daily' }, 'interval requires a timeframe'],
    ['count', { event_collection: 'c', timeframe: 'today', interval: 'sometimes' }, 'interval'],
    ['count', { event_collection: 'c', filters: '[{]' }, 'filters'],
    ['count', { event_collection: 'c', order_by: 'result' }, 'order_by requires group_by'],
    ['count', { event_collection: 'c', group_by: 'a', limit: 3 }, 'limit requires order_by'],
    ['count', { event_collection: 'c', group_by: 'a', order_by: 'b' }, 'order_by[0].property_name'],
    [
      'count',
      { event_collection: 'c', group_by: 'a', order_by: { property_name: 'a', direction: 'UP' } },
      'direction',
    ],
    ['count', { event_collection: 'c', group_by: 'a', order_by: 'a', limit: '0' }, 'limit'],
    ['count', { event_collection: 'c', group_by: '[1]' }, 'group_by'],
    ['count', { event_collection: 'c', include_metadata: 'yes' }, 'include_metadata'],
    ['extraction', { event_collection: 'c', latest: 'ten' }, 'latest'],
    [
      'extraction',
      { event_collection: 'c', group_by: 'a' },
      'group_by is not supported for extraction',
    ],
    ['multi_analysis', { event_collection: 'c' }, 'analyses'],
    [
      'multi_analysis',
      { event_collection: 'c', analyses: { a: { analysis_type: 'funnel' } } },
      'analyses.a.analysis_type',
    ],
    [
      'multi_analysis',
      { event_collection: 'c', analyses: { a: { analysis_type: 'sum' } } },
      'analyses.a.target_property',
    ],
    ['multi_analysis', { event_collection: 'c', analyses: '{"a":' }, 'analyses'],
    ['funnel', {}, 'steps'],
    ['funnel', { steps: [] }, 'steps'],
    ['funnel', { steps: [{ actor_property: 'u' }] }, 'steps[0].event_collection'],
    ['funnel', { steps: [{ event_collection: 'a' }] }, 'steps[0].actor_property'],
    [
      'funnel',
      { steps: [{ event_collection: 'a', actor_property: 'u', inverted: true }] },
      'steps[0].inverted',
    ],
    [
      'funnel',
      { steps: [{ event_collection: 'a', actor_property: 'u', timeframe: 'soon' }] },
      'steps[0].timeframe',
    ],
    [
      'funnel',
      { steps: [{ event_collection: 'a', actor_property: 'u', filters: [{}] }] },
      'steps[0].filters[0]',
    ],
    ['funnel', { steps: '[]', interval: 'daily' }, 'interval is not supported for funnel'],
  ])('%s %j → 400 naming %s', (type, params, naming) => {
    const e = errorOf(() => parseQuery(type, params as Record<string, unknown>));
    expect(e.kind).toBe('invalid');
    expect(e.message).toContain(naming);
  });
});

describe('parseQuery: multi_analysis size', () => {
  const analyses = (n: number): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, { analysis_type: 'count' }]));

  it(`accepts ${MAX_MULTI_ANALYSES} analyses and refuses one more (400 naming the limit), GET and POST`, () => {
    const ok = { event_collection: 'c', analyses: analyses(MAX_MULTI_ANALYSES) };
    expect(parseQuery('multi_analysis', ok)).toMatchObject({ analysis_type: 'multi_analysis' });
    const over = { event_collection: 'c', analyses: analyses(MAX_MULTI_ANALYSES + 1) };
    for (const params of [over, asQueryString(over)]) {
      const e = errorOf(() => parseQuery('multi_analysis', params));
      expect(e.kind).toBe('invalid');
      expect(e.errorCode).toBe('QueryLimitExceededError');
      expect(e.message).toContain(`limit of ${MAX_MULTI_ANALYSES}`);
    }
  });
});
