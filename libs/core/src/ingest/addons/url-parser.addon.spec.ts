import { MAX_QUERY_PARAMETERS, urlParser } from './url-parser.addon';

describe('keen:url_parser', () => {
  it('splits a URL into protocol, domain, path, anchor and query_string', () => {
    expect(urlParser('https://keen.io/super-awesome-content?source=twitter&n=2#title')).toEqual({
      protocol: 'https',
      domain: 'keen.io',
      path: '/super-awesome-content',
      anchor: 'title',
      query_string: { source: 'twitter', n: '2' },
    });
  });

  it('leaves out what the URL does not have', () => {
    expect(urlParser('http://example.com')).toEqual({
      protocol: 'http',
      domain: 'example.com',
      path: '/',
    });
  });

  it('keeps the first of repeated parameters and only names that are property names', () => {
    const parsed = urlParser('https://a.b/p?x=1&x=2&a.b=3&$c=4&__proto__=5&constructor=6&e=%20f');
    expect(parsed?.query_string).toEqual({ x: '1', constructor: '6', e: ' f' });
    expect(Object.getPrototypeOf(parsed?.query_string)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('caps the parameters it keeps', () => {
    const query = Array.from({ length: 200 }, (_, i) => `p${i}=${i}`).join('&');
    const parsed = urlParser(`https://a.b/?${query}`);
    expect(Object.keys(parsed?.query_string as object)).toHaveLength(MAX_QUERY_PARAMETERS);
  });

  it('adds nothing for a relative or malformed URL or a non-string', () => {
    for (const value of ['/relative/path', 'not a url', '', 'http://', 17, null, undefined]) {
      expect(urlParser(value)).toBeUndefined();
    }
  });
});
