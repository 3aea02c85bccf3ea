import { exactEqualityValues, planPushdown } from './filter-pushdown';

describe('planPushdown', () => {
  it('turns keen.id eq / in into ids and intersects them', () => {
    expect(
      planPushdown([{ property_name: 'keen.id', operator: 'eq', property_value: 'x' }]),
    ).toMatchObject({
      ids: ['x'],
      exact: true,
    });
    const p = planPushdown([
      { property_name: 'keen.id', operator: 'in', property_value: ['a', 'b', 'c'] },
      { property_name: 'keen.id', operator: 'in', property_value: ['b', 'c', 'd'] },
      { property_name: 'n', operator: 'gt', property_value: 1 },
    ]);
    expect(p.ids).toEqual(['b', 'c']);
    expect(p.exact).toBe(false);
    expect(p.hints).toHaveLength(3);
  });

  it('does not push down or filters, regex, or non-string ids', () => {
    const p = planPushdown([
      {
        property_name: '',
        operator: 'or',
        operands: [{ property_name: 'keen.id', operator: 'eq', property_value: 'a' }],
      },
      { property_name: 'keen.id', operator: 'eq', property_value: 5 },
      { property_name: 's', operator: 'regex', property_value: 'a' },
    ]);
    expect(p.ids).toBeUndefined();
    expect(p.hints.map((h) => h.operator)).toEqual(['eq']);
  });
});

describe('exactEqualityValues', () => {
  const f = (operator: 'eq' | 'in' | 'ne', property_value: unknown) =>
    exactEqualityValues({ property_name: 'p', operator, property_value: property_value as never });

  it('allows plain strings, booleans and null', () => {
    expect(f('eq', 'DE')).toEqual(['DE']);
    expect(f('in', ['a', true, null])).toEqual(['a', true, null]);
  });

  it('refuses values whose loose equality a store cannot reproduce', () => {
    expect(f('eq', 3)).toBeUndefined();
    expect(f('eq', '3')).toBeUndefined();
    expect(f('eq', '2024-03-10T12:00:00Z')).toBeUndefined();
    expect(f('in', ['a', 1])).toBeUndefined();
    expect(f('eq', { a: 1 })).toBeUndefined();
    expect(f('ne', 'a')).toBeUndefined();
    expect(f('in', [])).toBeUndefined();
  });
});
