import { JsonObject } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { parsePropertyPath, removalDeltas, withoutProperty } from './delete-property';

describe('property deletes: paths, bodies and counter decrements', () => {
  const body: JsonObject = {
    price: 3,
    user: { id: 'u1', address: { city: 'Lyon', zip: 69001 }, tags: ['a'] },
    list: [{ inner: 1 }],
    keen: { id: 'x', timestamp: '2024-01-01T00:00:00.000Z' },
  };

  it('parses dotted paths and refuses bad names and keen', () => {
    expect(parsePropertyPath('user.address.city')).toEqual(['user', 'address', 'city']);
    expect(() => parsePropertyPath('user..city')).toThrow(/must not be empty/);
    expect(() => parsePropertyPath('$price')).toThrow(/cannot start with the '\$' symbol/);
    expect(() => parsePropertyPath('x'.repeat(257))).toThrow(/<= 256 characters/);
    expect(() => parsePropertyPath('keen')).toThrow(/set by the server/);
    expect(() => parsePropertyPath('keen.timestamp')).toThrow(/set by the server/);
    expect(() => parsePropertyPath('keen.id')).toThrow(
      expect.objectContaining({ kind: 'forbidden', errorCode: 'KeenPropertyDeleteForbiddenError' }),
    );
    // Only the top-level keen object is reserved.
    expect(parsePropertyPath('user.keen')).toEqual(['user', 'keen']);
  });

  it('removes a nested leaf, keeps its parent and every other field, and leaves the input intact', () => {
    const before = structuredClone(body);
    const out = withoutProperty(body, ['user', 'address', 'city'])!;
    expect(out.removed).toBe('Lyon');
    expect(out.body).toEqual({ ...body, user: { id: 'u1', address: { zip: 69001 }, tags: ['a'] } });
    expect(Object.keys(out.body)).toEqual(Object.keys(body));
    expect(body).toEqual(before);
  });

  it('removes an object with its sub-properties; a path through a list or a missing one is absent', () => {
    expect(withoutProperty(body, ['user'])).toEqual({
      body: { price: 3, list: body.list, keen: body.keen },
      removed: body.user,
    });
    expect(withoutProperty(body, ['list', 'inner'])).toBeUndefined();
    expect(withoutProperty(body, ['price', 'x'])).toBeUndefined();
    expect(withoutProperty(body, ['nope'])).toBeUndefined();
    expect(withoutProperty({ a: null }, ['a'])).toEqual({ body: {}, removed: null });
  });

  it('keeps a property named __proto__ a plain property when rebuilding its parent', () => {
    const parsed = JSON.parse('{"__proto__": {"a": 1, "b": 2}}') as JsonObject;
    const out = withoutProperty(parsed, ['__proto__', 'a'])!;
    expect(Object.getPrototypeOf(out.body)).toBe(Object.prototype);
    expect(JSON.stringify(out.body)).toBe('{"__proto__":{"b":2}}');
  });

  it('decrements exactly what the removed values contributed, by type', () => {
    const events: JsonObject[] = [
      { user: { address: { city: 'Lyon', zip: 1 } } },
      { user: { address: { city: 7 } } },
      { user: { address: null } },
      { user: { name: 'no address' } },
    ];
    const removed = events
      .map((e) => withoutProperty(e, ['user', 'address'])?.removed)
      .filter((v) => v !== undefined);
    const key = (d: { path: string; type: string; delta: number }) =>
      `${d.path}:${d.type}:${d.delta}`;
    expect(removalDeltas('c', 'user.address', removed).map(key).sort()).toEqual(
      [
        'user.address:object:-2',
        'user.address:null:-1',
        'user.address.city:string:-1',
        'user.address.city:num:-1',
        'user.address.zip:num:-1',
      ].sort(),
    );
    // The same as the difference between the schemas before and after.
    const after = events.map((e) => withoutProperty(e, ['user', 'address'])?.body ?? e);
    const diff = new Map<string, number>();
    for (const d of schemaDeltas(
      events.map((event) => ({ collection: 'c', event })),
      -1,
    ))
      diff.set(`${d.path}:${d.type}`, d.delta);
    for (const d of schemaDeltas(after.map((event) => ({ collection: 'c', event }))))
      diff.set(`${d.path}:${d.type}`, (diff.get(`${d.path}:${d.type}`) ?? 0) + d.delta);
    const nonZero = [...diff].filter(([, n]) => n !== 0).map(([k, n]) => `${k}:${n}`);
    expect(nonZero.sort()).toEqual(removalDeltas('c', 'user.address', removed).map(key).sort());
  });
});
