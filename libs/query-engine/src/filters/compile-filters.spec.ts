import { JsonObject } from '@app/events';
import { compileFilters } from './compile-filters';
import { Filter } from './filter.types';
import { parseFilters } from './parse-filters';

const ev: JsonObject = {
  keen: {
    id: 'a1',
    timestamp: '2024-03-10T12:00:00.000Z',
    location: { coordinates: [-122.42, 37.77] },
  },
  user: { id: 42, name: 'Ada Lovelace', tags: ['admin', 'beta'], plan: null },
  price: 9.5,
  qty: '3',
  flag: true,
  seen_at: '2024-03-10T08:00:00-04:00',
  scores: [1, 5, 10],
  constructor_like: 'x',
};

const match = (filters: unknown, event: JsonObject = ev) =>
  compileFilters(parseFilters(filters))(event);
const f = (property_name: string, operator: string, property_value?: unknown) => [
  { property_name, operator, property_value },
];

describe('compileFilters', () => {
  it('matches everything with no filters', () => {
    expect(compileFilters([])(ev)).toBe(true);
  });

  it('resolves dotted paths into nested objects, including keen.*', () => {
    expect(match(f('user.id', 'eq', 42))).toBe(true);
    expect(match(f('keen.id', 'eq', 'a1'))).toBe(true);
    expect(match(f('user.name', 'eq', 'Ada'))).toBe(false);
  });

  it('treats comparisons on missing properties as false, ne as true', () => {
    for (const op of ['eq', 'lt', 'lte', 'gt', 'gte', 'contains', 'regex']) {
      const value = op === 'regex' ? '.*' : 1;
      expect(match(f('nope.deep', op, value))).toBe(false);
    }
    expect(match(f('nope', 'in', [1]))).toBe(false);
    expect(match(f('nope', 'ne', 1))).toBe(true);
    expect(match(f('nope', 'not_contains', 'x'))).toBe(true);
  });

  it('never reads inherited members such as constructor or __proto__', () => {
    expect(match(f('constructor', 'exists', true))).toBe(false);
    expect(match(f('user.__proto__', 'exists', true))).toBe(false);
    expect(match(f('user.toString', 'exists', true))).toBe(false);
    expect(match(f('constructor', 'exists', true), { constructor: 1 } as JsonObject)).toBe(true);
  });

  it('exists is true for present properties, null included', () => {
    expect(match(f('user.plan', 'exists', true))).toBe(true);
    expect(match(f('user.missing', 'exists', false))).toBe(true);
    expect(match(f('price', 'exists', false))).toBe(false);
  });

  it('eq against an array property matches any element or the whole array', () => {
    expect(match(f('user.tags', 'eq', 'beta'))).toBe(true);
    expect(match(f('user.tags', 'eq', ['admin', 'beta']))).toBe(true);
    expect(match(f('user.tags', 'eq', 'gamma'))).toBe(false);
    expect(match(f('user.tags', 'ne', 'beta'))).toBe(false);
    expect(match(f('scores', 'gt', 9))).toBe(true);
    expect(match(f('scores', 'lt', 1))).toBe(false);
  });

  it('compares numbers and numeric strings numerically across types', () => {
    expect(match(f('qty', 'eq', 3))).toBe(true);
    expect(match(f('qty', 'gt', 2.5))).toBe(true);
    expect(match(f('price', 'eq', '9.5'))).toBe(true);
    expect(match(f('price', 'lt', '10'))).toBe(true);
    expect(match(f('qty', 'in', [1, 3]))).toBe(true);
    // two strings compare as strings: "3" > "10"
    expect(match(f('qty', 'gt', '10'))).toBe(true);
  });

  it('compares ISO datetimes as instants', () => {
    expect(match(f('seen_at', 'eq', '2024-03-10T12:00:00Z'))).toBe(true);
    expect(match(f('seen_at', 'lt', '2024-03-10T12:00:01.000Z'))).toBe(true);
    expect(match(f('keen.timestamp', 'gte', '2024-03-10'))).toBe(true);
    expect(match(f('keen.timestamp', 'lt', '2024-03-10T13:00:00+01:00'))).toBe(false);
  });

  it('orders booleans and rejects incomparable kinds', () => {
    expect(match(f('flag', 'gt', false))).toBe(true);
    expect(match(f('flag', 'eq', 'true'))).toBe(false);
    expect(match(f('user.name', 'gt', 5))).toBe(false);
    expect(match(f('user.plan', 'lt', 5))).toBe(false);
    expect(match(f('user', 'gt', 'a'))).toBe(false);
  });

  it('contains / not_contains on strings (substring) and arrays (element)', () => {
    expect(match(f('user.name', 'contains', 'Love'))).toBe(true);
    expect(match(f('user.name', 'contains', 'love'))).toBe(false);
    expect(match(f('user.tags', 'contains', 'admin'))).toBe(true);
    expect(match(f('user.tags', 'contains', 'adm'))).toBe(false);
    expect(match(f('scores', 'contains', 5))).toBe(true);
    expect(match(f('user.name', 'not_contains', 'Love'))).toBe(false);
    expect(match(f('user.tags', 'not_contains', 'root'))).toBe(true);
    expect(match(f('price', 'contains', '9'))).toBe(false);
  });

  it('regex searches strings with re2 semantics', () => {
    expect(match(f('user.name', 'regex', '^Ada\\s'))).toBe(true);
    expect(match(f('user.name', 'regex', 'lace$'))).toBe(true);
    expect(match(f('user.tags', 'regex', '^be'))).toBe(true);
    expect(match(f('price', 'regex', '9'))).toBe(false);
  });

  it('regex stays linear on patterns that make backtracking engines explode', () => {
    const hostile = compileFilters(parseFilters(f('s', 'regex', '^(a+)+$')));
    const started = Date.now();
    expect(hostile({ s: 'a'.repeat(5000) + 'b' })).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('within uses haversine distance in miles on [lon, lat]', () => {
    // San Francisco → Oakland is about 8.4 miles.
    const near = { coordinates: [-122.27, 37.8], max_distance_miles: 10 };
    const far = { coordinates: [-122.27, 37.8], max_distance_miles: 5 };
    expect(match(f('keen.location.coordinates', 'within', near))).toBe(true);
    expect(match(f('keen.location.coordinates', 'within', far))).toBe(false);
    expect(match(f('price', 'within', near))).toBe(false);
  });

  it('or matches when any operand matches, under operands or property_value', () => {
    const ops = [
      { property_name: 'price', operator: 'gt', property_value: 100 },
      { property_name: 'user.id', operator: 'eq', property_value: 42 },
    ];
    expect(match([{ operator: 'or', operands: ops }])).toBe(true);
    expect(match([{ operator: 'or', property_value: ops }])).toBe(true);
    expect(match([{ operator: 'or', operands: [ops[0]] }])).toBe(false);
  });

  it('ANDs top-level filters', () => {
    const filters: Filter[] = [
      { property_name: 'price', operator: 'gte', property_value: 9.5 },
      { property_name: 'flag', operator: 'eq', property_value: true },
      { property_name: 'user.id', operator: 'ne', property_value: 7 },
    ];
    expect(compileFilters(filters)(ev)).toBe(true);
    expect(
      compileFilters([
        ...filters,
        { property_name: 'x', operator: 'exists', property_value: true },
      ])(ev),
    ).toBe(false);
  });
});
