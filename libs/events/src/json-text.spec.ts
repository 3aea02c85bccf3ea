import { TallyError } from './errors';
import { parseJsonText } from './json-text';

function errorOf(text: string): TallyError {
  try {
    parseJsonText(text, 'The body');
  } catch (error) {
    return error as TallyError;
  }
  throw new Error('expected an error');
}

describe('parseJsonText', () => {
  it('parses JSON, keeping constructor and toString as data', () => {
    const value = parseJsonText(
      '{"a":[1,{"constructor":{"prototype":{"x":1}}}],"toString":"t","s":"__proto__"}',
    ) as Record<string, unknown>;
    expect(value).toEqual({
      a: [1, { constructor: { prototype: { x: 1 } } }],
      toString: 't',
      s: '__proto__',
    });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('refuses a __proto__ key anywhere, however it is spelled, naming it', () => {
    for (const text of [
      '{"__proto__":{"x":1}}',
      '{"a":{"b":[{"__proto__":1}]}}',
      '{"\\u005f_proto__":1}',
      '{"__pro\\u0074o__":1}',
    ]) {
      const error = errorOf(text);
      expect(error.errorCode).toBe('InvalidPropertyNameError');
      expect(error.message).toContain('"__proto__"');
      expect(error.message).toContain('The body');
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('answers malformed and empty input with InvalidJsonError', () => {
    expect(errorOf('{"a":').errorCode).toBe('InvalidJsonError');
    expect(errorOf('  ').errorCode).toBe('InvalidJsonError');
    expect(errorOf('garbage').message).toContain('not valid JSON');
  });
});
