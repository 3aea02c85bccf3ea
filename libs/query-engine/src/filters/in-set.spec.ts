import { JsonObject, JsonValue } from '@app/events';
import fc from 'fast-check';
import { scalarArb } from '../testing/event-arbitraries';
import { compileFilters } from './compile-filters';
import { InSet } from './in-set';
import { looseEquals, toOperand } from './loose-compare';
import { parseFilters } from './parse-filters';
import { executeQuery } from '../engine/execute-query';
import { parseQuery } from '../parse/parse-query';
import { InMemoryEventSource } from '../testing/in-memory-event-source';

/** The definition InSet replaces: compare against every listed value. */
const linear = (list: JsonValue[], actual: JsonValue): boolean =>
  list.some((v) => looseEquals(actual, toOperand(v)));

const valueArb: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 6, arbitrary: scalarArb },
  { weight: 1, arbitrary: fc.array(scalarArb, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.array(scalarArb, { maxLength: 2 }), { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.record({ x: scalarArb }) },
  { weight: 1, arbitrary: fc.record({ x: scalarArb, y: fc.array(scalarArb, { maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.array(fc.record({ x: scalarArb }), { maxLength: 2 }) },
);

describe('InSet (an "in" list normalised once)', () => {
  it('answers exactly like comparing with every listed value (property)', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 8 }), valueArb, (list, actual) => {
        expect(new InSet(list).has(actual)).toBe(linear(list, actual));
      }),
      { seed: Number(process.env.FC_SEED ?? 11), numRuns: Number(process.env.FC_RUNS ?? 3000) },
    );
  });

  it('matches across loose kinds: numbers, numeric strings, datetimes', () => {
    const set = new InSet([3, '10', '2024-03-10T12:00:00Z', 'plain']);
    const hits: JsonValue[] = [
      3,
      '3', // a numeric string equals a listed number
      ' 3.0 ',
      10, // a number equals a listed numeric string
      '2024-03-10T08:00:00-04:00', // the same instant in another notation
      '2024-03-10 12:00',
      'plain',
      [1, 2, 3], // an element is listed
    ];
    const misses: JsonValue[] = [
      4,
      '10.0', // numeric strings do not equal each other numerically
      '0x3', // not a decimal numeric string
      '2024-03-10T12:00:01Z',
      'Plain',
      true,
      null,
      [4, 5],
      { x: 3 },
    ];
    expect(hits.filter((v) => set.has(v))).toEqual(hits);
    expect(misses.filter((v) => set.has(v))).toEqual([]);
  });

  it('matches booleans, null and structured values only by themselves', () => {
    const set = new InSet([true, null, { a: 1, b: [2] }, [1, 'x']]);
    expect(set.has(true)).toBe(true);
    expect(set.has(false)).toBe(false);
    expect(set.has('true')).toBe(false);
    expect(set.has(null)).toBe(true);
    expect(set.has({ b: [2], a: 1 })).toBe(true); // key order does not matter
    expect(set.has({ a: 1, b: [2], c: 0 })).toBe(false);
    expect(set.has([1, 'x'])).toBe(true); // the whole array is listed
    expect(set.has(['x', 1])).toBe(false);
    expect(set.has([0, { a: 1, b: [2] }])).toBe(true); // an element is listed
    expect(set.has([[1, 'x']])).toBe(false); // nested arrays are not elements
  });

  it('answers from the sets: a 10,000-value list gives the same matches as its linear definition', () => {
    const list: JsonValue[] = Array.from({ length: 10_000 }, (_, i) =>
      i % 3 === 0 ? i : i % 3 === 1 ? String(i) : `id-${i}`,
    );
    const set = new InSet(list);
    const probes: JsonValue[] = [
      0,
      '0',
      1,
      '1',
      2,
      'id-2',
      'id-3',
      9_999,
      '9999',
      10_000,
      'id-10000',
    ];
    expect(probes.filter((p) => set.has(p))).toEqual(probes.filter((p) => linear(list, p)));
    expect(probes.filter((p) => set.has(p))).toEqual([0, '0', 1, '1', 'id-2', 9_999, '9999']);
  });
});

describe('"in" list cap (maxInValues)', () => {
  const list = (n: number) => Array.from({ length: n }, (_, i) => i);
  const filters = (n: number) => [{ property_name: 'n', operator: 'in', property_value: list(n) }];

  it('compiles a list at the limit and rejects one value more with a 400 naming the limit', () => {
    const pred = compileFilters(parseFilters(filters(10_000)));
    const hits = [0, 5, 9_999, 10_000].filter((n) => pred({ n } as JsonObject));
    expect(hits).toEqual([0, 5, 9_999]);
    expect(() => compileFilters(parseFilters(filters(10_001)))).toThrow(
      expect.objectContaining({
        kind: 'invalid',
        errorCode: 'QueryLimitExceededError',
        message:
          'filters: an "in" list has 10001 values, more than the limit of 10000 (maxInValues)',
      }),
    );
  });

  it('applies a configured limit at parse time (naming the filter) and at compile time', () => {
    expect(() => parseFilters(filters(6), 'filters', { maxInValues: 5 })).toThrow(
      'filters[0].property_value: an "in" list has 6 values, more than the limit of 5 (maxInValues)',
    );
    expect(() => compileFilters(parseFilters(filters(6)), { maxInValues: 5 })).toThrow(
      /limit of 5 \(maxInValues\)/,
    );
    const nested = [
      {
        operator: 'or',
        operands: [{ property_name: 'n', operator: 'in', property_value: list(6) }],
      },
    ];
    expect(() => compileFilters(parseFilters(nested), { maxInValues: 5 })).toThrow(/limit of 5/);
  });

  it('refuses an over-long list in any funnel step before scanning anything', async () => {
    const source = new InMemoryEventSource().add('p', 'c', [
      { id: 'e1', timestamp: Date.UTC(2024, 0, 1), event: { n: 1 } },
    ]);
    const step = (values: number) => ({
      event_collection: 'c',
      actor_property: 'n',
      filters: [{ property_name: 'n', operator: 'in', property_value: list(values) }],
    });
    const query = parseQuery('funnel', { steps: [step(3), step(3), step(4)] });
    await expect(
      executeQuery(query, source, { projectId: 'p', limits: { maxInValues: 3 } }),
    ).rejects.toMatchObject({ errorCode: 'QueryLimitExceededError' });
    expect(source.requests).toHaveLength(0);
    const fine = parseQuery('funnel', { steps: [step(3), step(3)] });
    expect(
      (await executeQuery(fine, source, { projectId: 'p', limits: { maxInValues: 3 } })).result,
    ).toEqual([1, 1]);
  });
});
