import { autofillOf, withAutofill } from './autofill';

describe('withAutofill', () => {
  const fill = { team: 'red', source: { via: 'key', app: 'py' }, tags: ['a'] };

  it("deep-merges the autofill; wherever both have a value the event's wins", () => {
    const event = { n: 1, team: 'blue', source: { app: 'ios', extra: null } };
    expect(withAutofill(event, fill)).toEqual({
      n: 1,
      team: 'blue',
      source: { app: 'ios', extra: null, via: 'key' },
      tags: ['a'],
    });
  });

  it('keeps a non-object value of the event over an object of the autofill, and the reverse', () => {
    expect(withAutofill({ source: 'web' }, fill)).toMatchObject({ source: 'web' });
    expect(withAutofill({ team: { name: 'x' } }, fill)).toMatchObject({ team: { name: 'x' } });
    expect(withAutofill({ team: null }, fill)).toMatchObject({ team: null });
  });

  it('changes neither input and shares no object with the autofill', () => {
    const event = { source: { app: 'ios' } };
    const out = withAutofill(event, fill) as any;
    expect(event).toEqual({ source: { app: 'ios' } });
    expect(fill).toEqual({ team: 'red', source: { via: 'key', app: 'py' }, tags: ['a'] });
    out.tags.push('b');
    expect(fill.tags).toEqual(['a']);
  });

  it('leaves anything that is not an event object for validation to refuse', () => {
    for (const bad of [null, 'text', 3, [{ a: 1 }]]) expect(withAutofill(bad, fill)).toBe(bad);
    expect(withAutofill({ a: 1 }, undefined)).toEqual({ a: 1 });
  });

  it('copies names as own data properties, never through a prototype setter', () => {
    const hostile = JSON.parse('{"__proto__": {"admin": true}, "constructor": "x"}');
    const out = withAutofill({ n: 1 }, hostile) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(out.constructor).toBe('x');
  });
});

describe('autofillOf', () => {
  const base = { projectId: 'p', keyHash: 'h', createdAt: '' };
  it("is an access key's options.writes.autofill, and nothing for the role keys", () => {
    const options = { writes: { autofill: { a: 1 } } };
    expect(
      autofillOf({ ...base, role: 'access', access: { permitted: ['writes'], options } }),
    ).toEqual({ a: 1 });
    expect(
      autofillOf({ ...base, role: 'access', access: { permitted: ['writes'], options: {} } }),
    ).toBeUndefined();
    expect(autofillOf({ ...base, role: 'write' })).toBeUndefined();
    expect(autofillOf(undefined)).toBeUndefined();
  });
});
