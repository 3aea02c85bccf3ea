import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonObject, JsonValue, StoredEvent } from '@app/events';
import { executeQuery, parseQuery, QueryResponse } from '@app/query-engine';
import { InMemoryEventSource } from '@app/query-engine/testing';
import { DuckdbQueryEngine } from './duckdb-query-engine';

/**
 * Targeted cases for the compiled path, each checked twice: against a literal
 * expected answer and against executeQuery over the same events.
 */

const HOSTILE = 'a"; DROP TABLE events; --';
let seq = 0;
const at = (iso: string, body: JsonObject): StoredEvent => {
  const id = `x${String(seq++).padStart(4, '0')}`;
  return { id, timestamp: Date.parse(iso), event: { ...body, keen: { id, timestamp: iso } } };
};

describe('DuckDB compiled path: targeted examples', () => {
  let engine: DuckdbQueryEngine;
  const memory = new InMemoryEventSource();
  const now = new Date('2024-03-12T12:00:00.000Z');

  const load = async (project: string, collection: string, events: StoredEvent[]) => {
    await engine.append(project, collection, events);
    memory.add(project, collection, events);
  };

  /** The compiled answer, after checking it equals executeQuery's. */
  const compiled = async (
    project: string,
    analysis: string,
    params: Record<string, unknown>,
  ): Promise<JsonValue> => {
    const query = parseQuery(analysis, params);
    const answer = await engine.compiledQuery(query, { projectId: project, now });
    if (answer === undefined) {
      const c = engine.compile(query, { projectId: project, now });
      throw new Error(`declined: ${'declined' in c ? c.declined : '(limits)'}`);
    }
    const expected: QueryResponse = await executeQuery(query, memory, { projectId: project, now });
    expect(answer).toEqual(expected);
    return answer.result;
  };

  const declined = (project: string, analysis: string, params: Record<string, unknown>): string => {
    const c = engine.compile(parseQuery(analysis, params), { projectId: project, now });
    return 'declined' in c ? c.declined : '';
  };

  beforeAll(async () => {
    engine = await DuckdbQueryEngine.open({ threads: 1 });
    const day = '2024-03-05T10:00:00.000Z';
    await load('mixed', 'scores', [
      at(day, { score: 75 }),
      at(day, { score: 40 }),
      at(day, { score: 'high' }),
      at(day, { score: '75' }),
      at(day, { score: ' 60.5 ' }),
      at(day, { score: null }),
      at(day, {}),
      at(day, { score: true }),
      at(day, { score: '2024-03-10T08:00:00-04:00' }),
    ]);
    await load('uni', 'u', [
      at(day, { w: '\u{1F600}' }), // a surrogate pair in UTF-16, 4 bytes from F0 in UTF-8
      at(day, { w: '\uFFFD' }), // one unit in UTF-16, 3 bytes from EF in UTF-8
      at(day, { w: 'a' }),
    ]);
    await load('big', 'numbers', [
      at(day, { v: 1e20 }),
      at(day, { v: 3_000_000_000.5 }),
      at(day, { v: '1e20' }),
      at(day, { v: -1e300 }),
    ]);
    // New York: 2024-03-10 has 23 hours (spring forward), 2024-11-03 has 25 (fall back).
    await load('dst', 'visits', [
      at('2024-03-10T04:59:59.999Z', {}), // 23:59:59.999 on the 9th (EST)
      at('2024-03-10T05:00:00.000Z', {}), // 00:00 on the 10th (EST)
      at('2024-03-10T06:59:00.000Z', {}), // 01:59 EST
      at('2024-03-10T07:00:00.000Z', {}), // 03:00 EDT
      at('2024-03-11T03:59:59.999Z', {}), // 23:59:59.999 on the 10th (EDT)
      at('2024-03-11T04:00:00.000Z', {}), // 00:00 on the 11th (EDT)
      at('2024-11-03T05:30:00.000Z', {}), // 01:30 EDT
      at('2024-11-03T06:30:00.000Z', {}), // 01:30 EST, the repeated hour
      at('2024-11-04T04:59:00.000Z', {}), // 23:59 on the 3rd (EST)
    ]);
    await load('nest', 'orders', [
      at(day, { user: { plan: 'pro', geo: { country: 'FR' } }, price: 10, tags: ['a', 'b'] }),
      at(day, { user: { plan: 'pro', geo: { country: 'JP' } }, price: 5, tags: ['b'] }),
      at(day, { user: { plan: 'free' }, price: 1, tags: [] }),
      at(day, { user: 'flat', price: '7', tags: ['a', 'b'] }),
      at(day, { price: 2 }),
    ]);
    const hostile = JSON.parse(
      `[{"${HOSTILE.replace(/"/g, '\\"')}": 1, "__proto__": {"polluted": "yes"}},` +
        `{"${HOSTILE.replace(/"/g, '\\"')}": 2, "__proto__": {"polluted": "no"}}, {"constructor": 3}]`,
    ) as JsonObject[];
    await load('hostile', 'x', hostile.map((b) => at(day, b)));
    // Equal timestamps: the engine orders them by id.
    const tie = (id: string, iso: string, body: JsonObject): StoredEvent => ({
      id,
      timestamp: Date.parse(iso),
      event: { ...body, keen: { id, timestamp: iso } },
    });
    await load('tie', 'e', [
      tie('b', '2024-03-05T10:00:00.000Z', { n: 3 }),
      tie('z', '2024-03-06T10:00:00.000Z', { n: 4 }),
      tie('a', '2024-03-05T10:00:00.000Z', { n: 1, user: { id: 'u1' } }),
      tie('y', '2024-03-05T12:00:00.000Z', { n: 2, user: { id: 'u2' } }),
    ]);
  });
  afterAll(() => engine.close());

  const fortnight = { start: '2024-03-01T00:00:00.000Z', end: '2024-03-12T00:00:00.000Z' };

  describe('mixed types (score as number, word, numeric string, null, missing)', () => {
    const count = (filters: unknown[]) =>
      compiled('mixed', 'count', { event_collection: 'scores', timeframe: fortnight, filters });

    it('compares numbers and numeric strings numerically, never words, null or missing', async () => {
      expect(await count([{ property_name: 'score', operator: 'gt', property_value: 50 }])).toBe(3);
      // A string operand compares strings by code units: " 60.5 " and "2024-…" sort before "60.5".
      expect(await count([{ property_name: 'score', operator: 'lte', property_value: '60.5' }])).toBe(3);
      expect(await count([{ property_name: 'score', operator: 'eq', property_value: 75 }])).toBe(2);
      expect(await count([{ property_name: 'score', operator: 'eq', property_value: '75' }])).toBe(2);
      expect(await count([{ property_name: 'score', operator: 'eq', property_value: 'high' }])).toBe(1);
    });

    it('tells null from missing', async () => {
      expect(await count([{ property_name: 'score', operator: 'eq', property_value: null }])).toBe(1);
      expect(await count([{ property_name: 'score', operator: 'exists', property_value: true }])).toBe(8);
      expect(await count([{ property_name: 'score', operator: 'exists', property_value: false }])).toBe(1);
      expect(await count([{ property_name: 'score', operator: 'ne', property_value: 75 }])).toBe(7);
    });

    it('equals a datetime across notations and orders datetimes as instants', async () => {
      expect(
        await count([{ property_name: 'score', operator: 'eq', property_value: '2024-03-10T12:00:00.000Z' }]),
      ).toBe(1);
      expect(
        await count([{ property_name: 'score', operator: 'lt', property_value: '2024-03-10T12:00:01Z' }]),
      ).toBe(2); // the datetime as an instant, and " 60.5 " by code units
    });

    it('regex on plain literals: prefix, suffix, whole or substring of strings only', async () => {
      const regex = (pattern: string) =>
        count([{ property_name: 'score', operator: 'regex', property_value: pattern }]);
      expect(await regex('^h')).toBe(1);
      expect(await regex('5$')).toBe(1); // "75"; " 60.5 " ends with a space; 75 is a number
      expect(await regex('^75$')).toBe(1);
      expect(await regex('0')).toBe(2); // " 60.5 " and the datetime
      expect(await regex('')).toBe(4); // every string
    });

    it('in, contains and not_contains follow the engine per type', async () => {
      expect(
        await count([{ property_name: 'score', operator: 'in', property_value: [75, 'high', null] }]),
      ).toBe(4);
      expect(await count([{ property_name: 'score', operator: 'contains', property_value: 'ig' }])).toBe(1);
      expect(await count([{ property_name: 'score', operator: 'not_contains', property_value: 5 }])).toBe(7);
    });

    it('numeric analyses read JSON numbers only; unique analyses keep types apart', async () => {
      const scope = { event_collection: 'scores', timeframe: fortnight, target_property: 'score' };
      expect(await compiled('mixed', 'sum', scope)).toBe(115);
      expect(await compiled('mixed', 'average', scope)).toBe(57.5);
      expect(await compiled('mixed', 'median', scope)).toBe(57.5);
      expect(await compiled('mixed', 'percentile', { ...scope, percentile: 90 })).toBeCloseTo(71.5, 10);
      expect(await compiled('mixed', 'standard_deviation', scope)).toBe(17.5);
      expect(await compiled('mixed', 'count_unique', scope)).toBe(7);
      expect(await compiled('mixed', 'select_unique', scope)).toEqual([
        true,
        40,
        75,
        ' 60.5 ',
        '2024-03-10T08:00:00-04:00',
        '75',
        'high',
      ]);
    });

    it('groups by a mixed-type property with null and missing in one group', async () => {
      const rows = (await compiled('mixed', 'count', {
        event_collection: 'scores',
        timeframe: fortnight,
        group_by: 'score',
      })) as JsonObject[];
      expect(rows).toEqual([
        { score: null, result: 2 },
        { score: true, result: 1 },
        { score: 40, result: 1 },
        { score: 75, result: 1 },
        { score: ' 60.5 ', result: 1 },
        { score: '2024-03-10T08:00:00-04:00', result: 1 },
        { score: '75', result: 1 },
        { score: 'high', result: 1 },
      ]);
    });
  });

  it('binds every number as a double, far past 32 and 64 bits', async () => {
    const count = (operator: string, property_value: unknown) =>
      compiled('big', 'count', {
        event_collection: 'numbers',
        timeframe: fortnight,
        filters: [{ property_name: 'v', operator, property_value }],
      });
    expect(await count('eq', 1e20)).toBe(2);
    expect(await count('gt', 3_000_000_000)).toBe(3);
    expect(await count('lt', 3_000_000_001)).toBe(2);
    expect(await count('in', [-1e300, 1e20])).toBe(3);
  });

  describe('strings beyond the BMP (UTF-16 and UTF-8 orders differ)', () => {
    const scope = { event_collection: 'u', timeframe: fortnight };

    it('orders against an operand below U+D800 as the engine, sorts values with its order', async () => {
      const filters = [{ property_name: 'w', operator: 'gt', property_value: 'b' }];
      expect(await compiled('uni', 'count', { ...scope, filters })).toBe(2);
      // The engine's order (UTF-16): U+1F600 (D83D DE00) before U+FFFD.
      expect(await compiled('uni', 'select_unique', { ...scope, target_property: 'w' })).toEqual([
        'a',
        '\u{1F600}',
        '\uFFFD',
      ]);
    });

    it('declines ordering against an operand at or above U+D800', () => {
      const filters = [{ property_name: 'w', operator: 'lt', property_value: '\uE000' }];
      expect(declined('uni', 'count', { ...scope, filters })).toMatch(/beyond U\+D7FF/);
    });
  });

  describe('DST days in America/New_York', () => {
    it('daily buckets follow local midnight across spring forward (a 23-hour day)', async () => {
      const params = {
        event_collection: 'visits',
        timeframe: { start: '2024-03-09T00:00:00', end: '2024-03-12T00:00:00' },
        timezone: 'America/New_York',
        interval: 'daily',
      };
      // Unequal days: rows find their bucket in runs of equal days (a CASE), the 23-hour day its own.
      const c = engine.compile(parseQuery('count', params), { projectId: 'dst', now });
      expect('compiled' in c && c.compiled.sql).toContain('CASE WHEN');
      const result = await compiled('dst', 'count', params);
      expect(result).toEqual([
        { value: 1, timeframe: { start: '2024-03-09T05:00:00.000Z', end: '2024-03-10T05:00:00.000Z' } },
        { value: 4, timeframe: { start: '2024-03-10T05:00:00.000Z', end: '2024-03-11T04:00:00.000Z' } },
        { value: 1, timeframe: { start: '2024-03-11T04:00:00.000Z', end: '2024-03-12T04:00:00.000Z' } },
      ]);
    });

    it('monthly buckets: a few runs of equal months take the CASE, years of months the ASOF join', async () => {
      const monthly = (start: string, end: string) => ({
        event_collection: 'visits',
        timeframe: { start, end },
        timezone: 'America/New_York',
        interval: 'monthly',
      });
      const short = monthly('2024-01-01T00:00:00', '2024-04-01T00:00:00');
      const c = engine.compile(parseQuery('count', short), { projectId: 'dst', now });
      expect('compiled' in c && c.compiled.sql).toContain('CASE WHEN');
      const months = (await compiled('dst', 'count', short)) as JsonObject[];
      expect(months.map((m) => m.value)).toEqual([0, 0, 6]);
      const long = monthly('2021-01-01T00:00:00', '2024-04-01T00:00:00');
      const l = engine.compile(parseQuery('count', long), { projectId: 'dst', now });
      expect('compiled' in l && l.compiled.sql).toContain('ASOF JOIN');
      const all = (await compiled('dst', 'count', long)) as JsonObject[];
      expect(all).toHaveLength(39);
      expect(all[all.length - 1].value).toBe(6);
    });

    it('hourly buckets over fall back list the repeated hour twice', async () => {
      const params = {
        event_collection: 'visits',
        timeframe: { start: '2024-11-03T00:00:00', end: '2024-11-03T03:00:00' },
        timezone: 'America/New_York',
        interval: 'hourly',
      };
      // Equal hours: the bucket is one integer division, no join.
      const c = engine.compile(parseQuery('count', params), { projectId: 'dst', now });
      expect('compiled' in c && c.compiled.sql).not.toContain('JOIN');
      const result = (await compiled('dst', 'count', params)) as JsonObject[];
      expect(result.map((b) => b.value)).toEqual([0, 1, 1, 0]);
      expect(result.map((b) => (b.timeframe as JsonObject).start)).toEqual([
        '2024-11-03T04:00:00.000Z',
        '2024-11-03T05:00:00.000Z',
        '2024-11-03T06:00:00.000Z',
        '2024-11-03T07:00:00.000Z',
      ]);
    });

    it('resolves a relative timeframe in the zone (this_2_days from the pinned now)', async () => {
      expect(
        await compiled('dst', 'count', {
          event_collection: 'visits',
          timeframe: 'previous_3_days',
          timezone: 'America/New_York',
        }),
      ).toBe(6); // 9th to 11th local: the events from the 9th 23:59 to the 11th 00:00
    });
  });

  describe('nested paths and arrays', () => {
    const scope = { event_collection: 'orders', timeframe: fortnight };

    it('filters and groups by dotted paths; a path through a non-object reads as missing', async () => {
      expect(
        await compiled('nest', 'sum', {
          ...scope,
          target_property: 'price',
          filters: [{ property_name: 'user.plan', operator: 'eq', property_value: 'pro' }],
        }),
      ).toBe(15);
      expect(
        await compiled('nest', 'count', { ...scope, group_by: ['user.plan', 'user.geo.country'] }),
      ).toEqual([
        { 'user.plan': null, 'user.geo.country': null, result: 2 },
        { 'user.plan': 'free', 'user.geo.country': null, result: 1 },
        { 'user.plan': 'pro', 'user.geo.country': 'FR', result: 1 },
        { 'user.plan': 'pro', 'user.geo.country': 'JP', result: 1 },
      ]);
    });

    it('groups and counts arrays as whole values, objects structurally', async () => {
      expect(await compiled('nest', 'count', { ...scope, group_by: 'tags' })).toEqual([
        { tags: null, result: 1 },
        { tags: [], result: 1 },
        { tags: ['a', 'b'], result: 2 },
        { tags: ['b'], result: 1 },
      ]);
      expect(await compiled('nest', 'count_unique', { ...scope, target_property: 'tags' })).toBe(3);
      expect(await compiled('nest', 'select_unique', { ...scope, target_property: 'user.geo' })).toEqual([
        { country: 'FR' },
        { country: 'JP' },
      ]);
      expect(
        await compiled('nest', 'count', {
          ...scope,
          filters: [{ property_name: 'tags', operator: 'exists', property_value: true }],
        }),
      ).toBe(4);
    });

    it('matches arrays by any element, or whole, with the engine loose rules', async () => {
      const count = (filter: Record<string, unknown>) =>
        compiled('nest', 'count', { ...scope, filters: [filter] });
      expect(await count({ property_name: 'tags', operator: 'eq', property_value: 'a' })).toBe(2);
      expect(await count({ property_name: 'tags', operator: 'eq', property_value: ['b'] })).toBe(1);
      expect(await count({ property_name: 'tags', operator: 'ne', property_value: 'a' })).toBe(3);
      expect(await count({ property_name: 'tags', operator: 'contains', property_value: 'b' })).toBe(3);
      expect(await count({ property_name: 'tags', operator: 'not_contains', property_value: 'b' })).toBe(2);
      expect(await count({ property_name: 'tags', operator: 'in', property_value: [['a', 'b'], 'x'] })).toBe(2);
      expect(await count({ property_name: 'tags', operator: 'gt', property_value: 'a' })).toBe(3);
      expect(await count({ property_name: 'tags', operator: 'lt', property_value: 'b' })).toBe(2);
    });
  });

  describe('extraction', () => {
    it('returns bodies oldest first, ties by id, projected, and the latest N with ties at the cut', async () => {
      const extraction = (params: Record<string, unknown>) =>
        compiled('tie', 'extraction', { event_collection: 'e', timeframe: fortnight, ...params });
      const all = (await extraction({})) as JsonObject[];
      expect(all.map((e) => e.n)).toEqual([1, 3, 2, 4]);
      expect(await extraction({ latest: 2, property_names: ['n', 'user.id'] })).toEqual([
        { n: 2, user: { id: 'u2' } },
        { n: 4 },
      ]);
      expect(
        await extraction({
          latest: 3,
          filters: [{ property_name: 'n', operator: 'gte', property_value: '2' }],
        }),
      ).toEqual([all[1], all[2], all[3]]);
    });

    it('declines past maxExtractionEvents, where the engine stops with its limit error', async () => {
      const reasons: string[] = [];
      const ctx = {
        projectId: 'tie',
        now,
        limits: { maxExtractionEvents: 3 },
        onDecline: (r: string) => reasons.push(r),
      };
      const scope = { event_collection: 'e', timeframe: fortnight };
      expect(await engine.compiledQuery(parseQuery('extraction', scope), ctx)).toBeUndefined();
      expect(await engine.compiledQuery(parseQuery('extraction', { ...scope, latest: 4 }), ctx)).toBeUndefined();
      expect(reasons).toEqual([
        expect.stringMatching(/over a limit/),
        expect.stringMatching(/latest over maxExtractionEvents/),
      ]);
      const three = await engine.compiledQuery(parseQuery('extraction', { ...scope, latest: 3 }), ctx);
      expect((three?.result as JsonObject[]).map((e) => e.n)).toEqual([3, 2, 4]);
    });
  });

  describe('include_metadata', () => {
    it("reports the timeframe's events as scanned, with the engine's per-event figures, and the same result", async () => {
      const params = {
        event_collection: 'scores',
        timeframe: fortnight,
        include_metadata: true,
        filters: [{ property_name: 'score', operator: 'gt', property_value: 50 }],
      };
      const query = parseQuery('count', params);
      const answer = await engine.compiledQuery(query, { projectId: 'mixed', now });
      const plain = await engine.compiledQuery(parseQuery('count', { ...params, include_metadata: false }), {
        projectId: 'mixed',
        now,
      });
      const reference = await executeQuery(query, memory, { projectId: 'mixed', now });
      expect(answer?.result).toEqual(plain?.result);
      expect(answer?.result).toEqual(reference.result);
      // Every event of the collection in the timeframe is read (the filter runs over them);
      // the in-memory source has no pushdown, so the engine scanned the same ones.
      const inTimeframe = await engine.compiledQuery(
        parseQuery('count', { event_collection: 'scores', timeframe: fortnight }),
        { projectId: 'mixed', now },
      );
      expect(answer?.execution_metadata).toEqual({
        total_processing_time: expect.any(Number),
        events_scanned: inTimeframe?.result,
        properties_per_event: 2,
        total_properties_scanned: 2 * (inTimeframe?.result as number),
      });
      expect({ ...answer?.execution_metadata, total_processing_time: 0 }).toEqual({
        ...reference.execution_metadata,
        total_processing_time: 0,
      });
      // An extraction reports the same count.
      const extraction = await engine.compiledQuery(
        parseQuery('extraction', { event_collection: 'scores', timeframe: fortnight, include_metadata: true }),
        { projectId: 'mixed', now },
      );
      expect(extraction?.execution_metadata?.events_scanned).toBe(inTimeframe?.result);
    });
  });

  describe('declines', () => {
    it('regex beyond plain literals, within and funnels (the engine answers them)', async () => {
      const regex = {
        event_collection: 'scores',
        timeframe: fortnight,
        filters: [{ property_name: 'score', operator: 'regex', property_value: 'h.*' }],
      };
      expect(declined('mixed', 'count', regex)).toMatch(/regex is not compiled beyond plain literals/);
      expect(
        await engine.compiledQuery(parseQuery('count', regex), { projectId: 'mixed', now }),
      ).toBeUndefined();
      const within = {
        ...regex,
        filters: [
          {
            property_name: 'score',
            operator: 'within',
            property_value: { coordinates: [0, 0], max_distance_miles: 5 },
          },
        ],
      };
      expect(declined('mixed', 'count', within)).toMatch(/within is not compiled/);
      expect(declined('mixed', 'funnel', { steps: [{ event_collection: 'scores', actor_property: 'score' }] })).toMatch(
        /funnel is not compiled/,
      );
    });
  });

  describe('hostile property names', () => {
    const scope = { event_collection: 'x', timeframe: fortnight };

    it('filters, groups and sums by a path full of SQL without running any of it', async () => {
      const params = {
        ...scope,
        target_property: HOSTILE,
        filters: [{ property_name: HOSTILE, operator: 'gte', property_value: 1 }],
        group_by: [HOSTILE],
      };
      const c = engine.compile(parseQuery('sum', params), { projectId: 'hostile', now });
      expect('compiled' in c && c.compiled.sql).not.toContain('DROP');
      expect(await compiled('hostile', 'sum', params)).toEqual([
        { [HOSTILE]: 1, result: 1 },
        { [HOSTILE]: 2, result: 2 },
      ]);
      // The table is still there and still answers.
      expect(await compiled('hostile', 'count', scope)).toBe(3);
    });

    it('reads Object.prototype names only when the event owns them', async () => {
      expect(
        await compiled('hostile', 'count', {
          ...scope,
          filters: [{ property_name: 'constructor', operator: 'exists', property_value: true }],
        }),
      ).toBe(1);
      expect(
        await compiled('hostile', 'count', {
          ...scope,
          filters: [{ property_name: 'toString', operator: 'exists', property_value: true }],
        }),
      ).toBe(0);
      const rows = (await compiled('hostile', 'count', { ...scope, group_by: 'constructor' })) as JsonObject[];
      expect(rows).toEqual([
        { constructor: null, result: 2 },
        { constructor: 3, result: 1 },
      ]);
      // Group rows are null-prototype objects, so `constructor` is a plain own key.
      expect(Object.getPrototypeOf(rows[0])).toBeNull();
    });
  });

  it('runs appends and queries issued together one at a time, each query on what came before it', async () => {
    const count = () =>
      engine.compiledQuery(
        parseQuery('count', {
          event_collection: 'c',
          timeframe: fortnight,
          filters: [{ property_name: 'fresh', operator: 'eq', property_value: 1 }],
        }),
        { projectId: 'together', now },
      );
    const before = count();
    const append = engine.append('together', 'c', [
      at('2024-03-05T10:00:00.000Z', { fresh: 1 }),
      at('2024-03-05T10:00:00.000Z', { fresh: '1' }),
    ]);
    const after = count();
    await append;
    expect((await before)?.result).toBe(0);
    expect((await after)?.result).toBe(2);
  });

  describe('a database file', () => {
    it('reopens with its column dictionary and answers as before', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tally-duckdb-'));
      try {
        const path = join(dir, 'events.duckdb');
        const first = await DuckdbQueryEngine.open({ path, threads: 1 });
        const events = [
          at('2024-03-05T10:00:00.000Z', { score: 75, tags: ['a'] }),
          at('2024-03-05T11:00:00.000Z', { score: '80', tags: ['b'] }),
          at('2024-03-05T12:00:00.000Z', { score: 'high' }),
        ];
        await first.append('file', 'c', events);
        first.close();

        const again = await DuckdbQueryEngine.open({ path, threads: 1 });
        try {
          // A new pair after reopening gets the next column, not a reused name.
          await again.append('file', 'c', [at('2024-03-05T13:00:00.000Z', { score: false })]);
          const query = parseQuery('count', {
            event_collection: 'c',
            timeframe: fortnight,
            filters: [{ property_name: 'score', operator: 'gte', property_value: 75 }],
            group_by: 'tags',
          });
          expect((await again.compiledQuery(query, { projectId: 'file', now }))?.result).toEqual([
            { tags: ['a'], result: 1 },
            { tags: ['b'], result: 1 },
          ]);
          const booleans = parseQuery('count', {
            event_collection: 'c',
            timeframe: fortnight,
            filters: [{ property_name: 'score', operator: 'eq', property_value: false }],
          });
          expect((await again.compiledQuery(booleans, { projectId: 'file', now }))?.result).toBe(1);
        } finally {
          again.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
