import { TallyError } from '@app/events';
import { parseFilters } from './parse-filters';

const err = (fn: () => unknown): TallyError => {
  try {
    fn();
  } catch (e) {
    return e as TallyError;
  }
  throw new Error('expected an error');
};

describe('parseFilters', () => {
  it('accepts JSON text (GET) and arrays (POST) alike', () => {
    const filters = [{ property_name: 'a.b', operator: 'eq', property_value: 1 }];
    expect(parseFilters(JSON.stringify(filters))).toEqual(filters);
    expect(parseFilters(filters)).toEqual(filters);
    expect(parseFilters(undefined)).toEqual([]);
    expect(parseFilters('')).toEqual([]);
  });

  it('normalises or filters to operands', () => {
    const sub = { property_name: 'a', operator: 'exists', property_value: 'true' };
    expect(parseFilters([{ operator: 'or', property_value: [sub] }])).toEqual([
      {
        property_name: '',
        operator: 'or',
        operands: [{ property_name: 'a', operator: 'exists', property_value: true }],
      },
    ]);
  });

  it.each([
    ['not json', 'filters must be a JSON array'],
    [[{ property_name: 'a', operator: 'like', property_value: 1 }], 'filters[0].operator'],
    [[{ operator: 'eq', property_value: 1 }], 'filters[0].property_name'],
    [[{ property_name: 'a..b', operator: 'eq', property_value: 1 }], 'filters[0].property_name'],
    [[{ property_name: 'a', operator: 'eq' }], 'filters[0].property_value'],
    [[{ property_name: 'a', operator: 'in', property_value: 1 }], 'filters[0].property_value'],
    [[{ property_name: 'a', operator: 'gt', property_value: [1] }], 'filters[0].property_value'],
    [
      [{ property_name: 'a', operator: 'exists', property_value: 'yes' }],
      'filters[0].property_value',
    ],
    [[{ property_name: 'a', operator: 'regex', property_value: '(' }], 'filters[0].property_value'],
    [
      [{ property_name: 'a', operator: 'within', property_value: { coordinates: [1] } }],
      'filters[0].property_value',
    ],
    [[{ operator: 'or', operands: [] }], 'filters[0].operands'],
    [
      [{ operator: 'or', operands: [{ property_name: 'a', operator: 'zz' }] }],
      'filters[0].operands[0].operator',
    ],
  ])('rejects %j naming %s', (input, naming) => {
    const e = err(() => parseFilters(input));
    expect(e).toBeInstanceOf(TallyError);
    expect(e.kind).toBe('invalid');
    expect(e.errorCode).toBe('FilterDefinitionError');
    expect(e.message).toContain(naming);
  });

  it('caps regex length and filter count', () => {
    expect(
      err(() =>
        parseFilters([{ property_name: 'a', operator: 'regex', property_value: 'x'.repeat(600) }]),
      ).message,
    ).toContain('limit of 512');
    const many = Array.from({ length: 5 }, () => ({
      property_name: 'a',
      operator: 'exists',
      property_value: true,
    }));
    expect(err(() => parseFilters(many, 'filters', { maxFilters: 4 })).message).toContain(
      'limit of 4 filters',
    );
  });

  it('caps the size of the filters (maxFilterBytes), as text or as a parsed body', () => {
    const big = [{ property_name: 'a', operator: 'eq', property_value: { x: 'y'.repeat(2_000) } }];
    for (const raw of [big, JSON.stringify(big)]) {
      const e = err(() => parseFilters(raw, 'filters', { maxFilterBytes: 1_000 }));
      expect([e.errorCode, e.message]).toEqual([
        'QueryLimitExceededError',
        'filters: more than the limit of 1000 bytes of filters (maxFilterBytes)',
      ]);
    }
    // A list far longer than the limit is refused without walking all of it.
    const list = [
      { property_name: 'a', operator: 'in', property_value: new Array(5_000_000).fill(1) },
    ];
    expect(err(() => parseFilters(list)).message).toContain('limit of 1000000 bytes');
    const fits = parseFilters(big, 'filters', { maxFilterBytes: 3_000 });
    expect(fits).toEqual([
      { property_name: 'a', operator: 'eq', property_value: { x: 'y'.repeat(2_000) } },
    ]);
  });
});
