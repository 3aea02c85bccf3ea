import { BoundedCache } from './bounded-cache';

describe('BoundedCache', () => {
  it('computes once per key, hands out a fresh copy each time, and drops the oldest beyond its size', () => {
    const cache = new BoundedCache<{ a: { b: number[] } } | undefined>(2);
    let computed = 0;
    const value = (n: number) => () => {
      computed++;
      return { a: { b: [n] } };
    };
    const first = cache.get('x', value(1));
    const second = cache.get('x', value(99));
    expect(second).toEqual({ a: { b: [1] } });
    expect(computed).toBe(1);
    expect(second).not.toBe(first);
    expect(second!.a).not.toBe(first!.a);
    first!.a.b.push(2);
    expect(cache.get('x', value(99))).toEqual({ a: { b: [1] } });

    cache.get('y', value(2));
    cache.get('z', value(3));
    expect(computed).toBe(3);
    // x was the oldest: computed again.
    expect(cache.get('x', value(4))).toEqual({ a: { b: [4] } });
    expect(cache.get('u', () => undefined)).toBeUndefined();
  });
});
