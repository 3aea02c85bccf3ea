import { schemaDeltas, typeOf } from './infer-schema';

describe('schema inference', () => {
  it('classifies values into Keen types', () => {
    expect(typeOf(1.5)).toBe('num');
    expect(typeOf('hello')).toBe('string');
    expect(typeOf('2024-03-10T07:00:00.000Z')).toBe('datetime');
    expect(typeOf('2024-03-10 07:00:00+05:30')).toBe('datetime');
    expect(typeOf('2024-03-10')).toBe('string');
    expect(typeOf('2024-13-45T99:00:00Z')).toBe('string');
    expect(typeOf(true)).toBe('bool');
    expect(typeOf(null)).toBe('null');
    expect(typeOf([1, 2])).toBe('list');
    expect(typeOf({ a: 1 })).toBe('object');
  });

  it('counts every nested path per type, aggregated over a batch', () => {
    const deltas = schemaDeltas([
      { collection: 'c', event: { user: { id: 1, tags: ['a'] }, price: 2 } },
      { collection: 'c', event: { user: { id: 'x' }, price: 3 } },
      { collection: 'd', event: { price: null } },
    ]);
    const byKey = Object.fromEntries(deltas.map((d) => [`${d.collection}:${d.path}:${d.type}`, d.delta]));
    expect(byKey).toEqual({
      'c:user:object': 2,
      'c:user.id:num': 1,
      'c:user.id:string': 1,
      'c:user.tags:list': 1,
      'c:price:num': 2,
      'd:price:null': 1,
    });
  });

  it('produces negative deltas for deleted events', () => {
    expect(schemaDeltas([{ collection: 'c', event: { a: 1 } }], -1)).toEqual([
      { collection: 'c', path: 'a', type: 'num', delta: -1 },
    ]);
  });
});
