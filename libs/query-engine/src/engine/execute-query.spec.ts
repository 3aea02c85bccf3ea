import { JsonObject, StoredEvent } from '@app/events';
import { parseQuery } from '../parse/parse-query';
import { InMemoryEventSource } from '../testing/in-memory-event-source';
import { executeQuery } from './execute-query';

const NOW = new Date('2024-03-06T10:00:00.000Z');

let seq = 0;
const event = (ts: string, body: JsonObject): StoredEvent => {
  const id = `id${String(++seq).padStart(4, '0')}`;
  return { id, timestamp: Date.parse(ts), event: { ...body, keen: { id, timestamp: ts } } };
};

const source = new InMemoryEventSource({ pageSize: 3 }).add('p', 'views', [
  event('2024-03-01T12:00:00.000Z', { os: 'mac', ms: 100, user: { id: 'u1' } }),
  event('2024-03-02T12:00:00.000Z', { os: 'win', ms: 300, user: { id: 'u2' } }),
  event('2024-03-04T12:00:00.000Z', { os: 'mac', ms: 200, user: { id: 'u1' } }),
  event('2024-03-04T13:00:00.000Z', { ms: 'slow', user: { id: 'u3' } }),
  event('2024-03-05T12:00:00.000Z', { os: 'linux', ms: 50, user: { id: 'u2' } }),
]);
source.add('p', 'buys', [
  event('2024-03-03T12:00:00.000Z', { user: { id: 'u1' }, amount: 5 }),
  event('2024-03-05T12:00:00.000Z', { user: { id: 'u3' }, amount: 7 }),
]);
source.add('other-project', 'views', [event('2024-03-01T12:00:00.000Z', { os: 'mac' })]);

const run = (type: string, params: Record<string, unknown>, limits = {}) =>
  executeQuery(parseQuery(type, params), source, { projectId: 'p', now: NOW, limits });

describe('executeQuery: Keen result shapes', () => {
  it('plain metrics', async () => {
    expect(await run('count', { event_collection: 'views' })).toEqual({ result: 5 });
    expect(await run('count', { event_collection: 'nothing' })).toEqual({ result: 0 });
    expect(await run('sum', { event_collection: 'views', target_property: 'ms' })).toEqual({
      result: 650,
    });
    expect(await run('average', { event_collection: 'views', target_property: 'ms' })).toEqual({
      result: 162.5,
    });
    expect(await run('minimum', { event_collection: 'views', target_property: 'ms' })).toEqual({
      result: 50,
    });
    expect(await run('maximum', { event_collection: 'views', target_property: 'ms' })).toEqual({
      result: 300,
    });
    expect(await run('median', { event_collection: 'views', target_property: 'ms' })).toEqual({
      result: 150,
    });
    expect(
      await run('percentile', { event_collection: 'views', target_property: 'ms', percentile: 75 }),
    ).toEqual({ result: 225 });
    expect(
      await run('count_unique', { event_collection: 'views', target_property: 'user.id' }),
    ).toEqual({
      result: 3,
    });
    expect(
      await run('select_unique', { event_collection: 'views', target_property: 'os' }),
    ).toEqual({
      result: ['linux', 'mac', 'win'],
    });
    const sd = await run('standard_deviation', {
      event_collection: 'views',
      target_property: 'ms',
    });
    expect(sd.result).toBeCloseTo(
      Math.sqrt((62.5 ** 2 + 137.5 ** 2 + 37.5 ** 2 + 112.5 ** 2) / 4),
      10,
    );
  });

  it('empty inputs: 0 for count and sum, null for the others, [] for select_unique', async () => {
    const base = { event_collection: 'views', target_property: 'absent' };
    expect(await run('sum', base)).toEqual({ result: 0 });
    expect(await run('count_unique', base)).toEqual({ result: 0 });
    for (const t of ['average', 'minimum', 'maximum', 'median', 'standard_deviation']) {
      expect(await run(t, base)).toEqual({ result: null });
    }
    expect(await run('select_unique', base)).toEqual({ result: [] });
  });

  it('group_by: missing group values are null; rows in a stable order', async () => {
    expect(await run('count', { event_collection: 'views', group_by: 'os' })).toEqual({
      result: [
        { os: null, result: 1 },
        { os: 'linux', result: 1 },
        { os: 'mac', result: 2 },
        { os: 'win', result: 1 },
      ],
    });
  });

  it('group_by on two properties, order_by and limit', async () => {
    expect(
      await run('count', {
        event_collection: 'views',
        group_by: ['os', 'user.id'],
        order_by: [{ property_name: 'result', direction: 'DESC' }],
        limit: 2,
      }),
    ).toEqual({
      result: [
        { os: 'mac', 'user.id': 'u1', result: 2 },
        { os: null, 'user.id': 'u3', result: 1 },
      ],
    });
  });

  it('interval: every bucket present with Keen timestamps, 0 for count, null for average', async () => {
    const tf = 'previous_3_days';
    expect(
      await run('count', { event_collection: 'views', timeframe: tf, interval: 'daily' }),
    ).toEqual({
      result: [
        {
          value: 0,
          timeframe: { start: '2024-03-03T00:00:00.000Z', end: '2024-03-04T00:00:00.000Z' },
        },
        {
          value: 2,
          timeframe: { start: '2024-03-04T00:00:00.000Z', end: '2024-03-05T00:00:00.000Z' },
        },
        {
          value: 1,
          timeframe: { start: '2024-03-05T00:00:00.000Z', end: '2024-03-06T00:00:00.000Z' },
        },
      ],
    });
    const avg = await run('average', {
      event_collection: 'views',
      target_property: 'ms',
      timeframe: tf,
      interval: 'daily',
    });
    expect((avg.result as JsonObject[]).map((b) => b.value)).toEqual([null, 200, 50]);
  });

  it('interval with a fixed-offset timezone shows local midnight in UTC', async () => {
    const r = await run('count', {
      event_collection: 'views',
      timeframe: 'previous_1_days',
      interval: 'daily',
      timezone: -25200,
    });
    expect(r.result).toEqual([
      {
        value: 1,
        timeframe: { start: '2024-03-05T07:00:00.000Z', end: '2024-03-06T07:00:00.000Z' },
      },
    ]);
  });

  it('interval + group_by: every bucket lists every group; [] when there are none', async () => {
    const r = await run('count', {
      event_collection: 'views',
      timeframe: { start: '2024-03-04T00:00:00Z', end: '2024-03-06T00:00:00Z' },
      interval: 'daily',
      group_by: 'os',
    });
    expect(r.result).toEqual([
      {
        value: [
          { os: null, result: 1 },
          { os: 'linux', result: 0 },
          { os: 'mac', result: 1 },
        ],
        timeframe: { start: '2024-03-04T00:00:00.000Z', end: '2024-03-05T00:00:00.000Z' },
      },
      {
        value: [
          { os: null, result: 0 },
          { os: 'linux', result: 1 },
          { os: 'mac', result: 0 },
        ],
        timeframe: { start: '2024-03-05T00:00:00.000Z', end: '2024-03-06T00:00:00.000Z' },
      },
    ]);
    const none = await run('count', {
      event_collection: 'views',
      timeframe: { start: '2020-01-01T00:00:00Z', end: '2020-01-02T00:00:00Z' },
      interval: 'daily',
      group_by: 'os',
    });
    expect(none.result).toEqual([
      {
        value: [],
        timeframe: { start: '2020-01-01T00:00:00.000Z', end: '2020-01-02T00:00:00.000Z' },
      },
    ]);
  });

  it('multi_analysis: plain, group, interval and interval+group shapes', async () => {
    const analyses = {
      total: { analysis_type: 'sum', target_property: 'ms' },
      n: { analysis_type: 'count' },
    };
    expect(await run('multi_analysis', { event_collection: 'views', analyses })).toEqual({
      result: { total: 650, n: 5 },
    });
    expect(
      await run('multi_analysis', {
        event_collection: 'views',
        analyses,
        group_by: 'user.id',
        order_by: { property_name: 'total', direction: 'DESC' },
      }),
    ).toEqual({
      result: [
        { 'user.id': 'u2', total: 350, n: 2 },
        { 'user.id': 'u1', total: 300, n: 2 },
        { 'user.id': 'u3', total: 0, n: 1 },
      ],
    });
    const tf = { start: '2024-03-05T00:00:00Z', end: '2024-03-06T00:00:00Z' };
    expect(
      await run('multi_analysis', {
        event_collection: 'views',
        analyses,
        timeframe: tf,
        interval: 'daily',
      }),
    ).toEqual({
      result: [
        {
          value: { total: 50, n: 1 },
          timeframe: { start: '2024-03-05T00:00:00.000Z', end: '2024-03-06T00:00:00.000Z' },
        },
      ],
    });
    expect(
      await run('multi_analysis', {
        event_collection: 'views',
        analyses,
        timeframe: tf,
        interval: 'daily',
        group_by: 'os',
      }),
    ).toEqual({
      result: [
        {
          value: [{ os: 'linux', total: 50, n: 1 }],
          timeframe: { start: '2024-03-05T00:00:00.000Z', end: '2024-03-06T00:00:00.000Z' },
        },
      ],
    });
  });

  it('multi_analysis with a single count keeps its label (no plain-count shortcut)', async () => {
    expect(
      await run('multi_analysis', {
        event_collection: 'views',
        analyses: { n: { analysis_type: 'count' } },
      }),
    ).toEqual({ result: { n: 5 } });
  });

  it('extraction: all events oldest first, latest N, property_names as nested objects', async () => {
    const all = await run('extraction', { event_collection: 'views' });
    expect((all.result as JsonObject[]).map((e) => (e.keen as JsonObject).timestamp)).toEqual([
      '2024-03-01T12:00:00.000Z',
      '2024-03-02T12:00:00.000Z',
      '2024-03-04T12:00:00.000Z',
      '2024-03-04T13:00:00.000Z',
      '2024-03-05T12:00:00.000Z',
    ]);
    expect((all.result as JsonObject[])[0]).toMatchObject({
      os: 'mac',
      ms: 100,
      user: { id: 'u1' },
    });
    const latest = await run('extraction', {
      event_collection: 'views',
      latest: 2,
      property_names: ['user.id', 'keen.timestamp', 'nope.x'],
    });
    expect(latest.result).toEqual([
      { user: { id: 'u3' }, keen: { timestamp: '2024-03-04T13:00:00.000Z' } },
      { user: { id: 'u2' }, keen: { timestamp: '2024-03-05T12:00:00.000Z' } },
    ]);
    const filtered = await run('extraction', {
      event_collection: 'views',
      latest: 1,
      filters: [{ property_name: 'os', operator: 'eq', property_value: 'mac' }],
      property_names: ['ms'],
    });
    expect(filtered.result).toEqual([{ ms: 200 }]);
  });

  it('funnel: set-based steps, optional, inverted and with_actors', async () => {
    const steps = [
      { event_collection: 'views', actor_property: 'user.id' },
      { event_collection: 'buys', actor_property: 'user.id', with_actors: true },
      {
        event_collection: 'views',
        actor_property: 'user.id',
        filters: [{ property_name: 'os', operator: 'eq', property_value: 'win' }],
        optional: true,
        with_actors: true,
      },
      {
        event_collection: 'views',
        actor_property: 'user.id',
        inverted: true,
        timeframe: { start: '2024-03-04T12:30:00Z', end: '2024-03-06T00:00:00Z' },
        with_actors: true,
      },
    ];
    const r = await run('funnel', { steps });
    expect(r.result).toEqual([3, 2, 0, 1]);
    expect(r.actors).toEqual([null, ['u1', 'u3'], [], ['u1']]);
    expect(r.steps?.[0]).toEqual({
      event_collection: 'views',
      actor_property: 'user.id',
      filters: [],
      timeframe: null,
      timezone: null,
      optional: false,
      inverted: false,
      with_actors: false,
    });
    expect(r.steps?.[3].timeframe).toEqual({
      start: '2024-03-04T12:30:00Z',
      end: '2024-03-06T00:00:00Z',
    });
    const plain = await run('funnel', { steps: steps.slice(0, 1) });
    expect(plain).toEqual({ result: [3], steps: [expect.any(Object)] });
  });

  it('include_metadata reports what was scanned', async () => {
    const r = await run('sum', {
      event_collection: 'views',
      target_property: 'ms',
      group_by: 'os',
      filters: [{ property_name: 'ms', operator: 'exists', property_value: true }],
      include_metadata: true,
    });
    expect(r.execution_metadata).toMatchObject({
      events_scanned: 5,
      properties_per_event: 3,
      total_properties_scanned: 15,
    });
    expect(r.execution_metadata!.total_processing_time).toBeGreaterThanOrEqual(0);
  });

  it('is scoped to the project', async () => {
    const r = await executeQuery(parseQuery('count', { event_collection: 'views' }), source, {
      projectId: 'other-project',
    });
    expect(r).toEqual({ result: 1 });
  });
});

describe('executeQuery: what reaches the store', () => {
  it('passes the timeframe, keen.id lookups and simple filters', async () => {
    const requests: unknown[] = [];
    const spy = new InMemoryEventSource({ onScan: (r) => requests.push(r) });
    await executeQuery(
      parseQuery('count', {
        event_collection: 'views',
        timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-01-02T00:00:00Z' },
        filters: [
          { property_name: 'keen.id', operator: 'in', property_value: ['a', 'b'] },
          { property_name: 'n', operator: 'gt', property_value: 2 },
          { property_name: 's', operator: 'regex', property_value: 'x' },
        ],
      }),
      spy,
      { projectId: 'p' },
    );
    expect(requests).toEqual([
      {
        projectId: 'p',
        collection: 'views',
        start: Date.UTC(2024, 0, 1),
        end: Date.UTC(2024, 0, 2),
        ids: ['a', 'b'],
        filters: [
          { property_name: 'keen.id', operator: 'in', property_value: ['a', 'b'] },
          { property_name: 'n', operator: 'gt', property_value: 2 },
        ],
      },
    ]);
  });

  it('does not scan when keen.id filters contradict each other', async () => {
    const spy = new InMemoryEventSource();
    const r = await executeQuery(
      parseQuery('count', {
        event_collection: 'views',
        filters: [
          { property_name: 'keen.id', operator: 'eq', property_value: 'a' },
          { property_name: 'keen.id', operator: 'eq', property_value: 'b' },
        ],
      }),
      spy,
      { projectId: 'p' },
    );
    expect(r.result).toBe(0);
    expect(spy.requests).toEqual([]);
  });
});
