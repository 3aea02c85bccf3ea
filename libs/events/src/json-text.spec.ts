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

  it('parses texts without the name or an escape the same as with them', () => {
    const plain = '{"a":{"b":[1,"x"]},"s":"proto","n":null}';
    expect(parseJsonText(plain)).toEqual({ a: { b: [1, 'x'] }, s: 'proto', n: null });
    // An escape elsewhere sends the text through the full check, same answer.
    expect(parseJsonText('{"a":"\\u00e9","s":"__proto__"}')).toEqual({ a: 'é', s: '__proto__' });
    // A leading byte-order mark is stripped, as before.
    expect(parseJsonText('\ufeff{"a":1}')).toEqual({ a: 1 });
    expect(errorOf('\ufeff{"__proto__":1}').errorCode).toBe('InvalidPropertyNameError');
    expect(errorOf('{"a":1,}').errorCode).toBe('InvalidJsonError');
  });

  it('answers malformed and empty input with InvalidJsonError', () => {
    expect(errorOf('{"a":').errorCode).toBe('InvalidJsonError');
    expect(errorOf('  ').errorCode).toBe('InvalidJsonError');
    expect(errorOf('garbage').message).toContain('not valid JSON');
  });
});
