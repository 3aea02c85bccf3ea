import { JsonObject } from '@app/events';
import { ReferrerTable } from './referrer-table';
import { parseUrl } from './url-parser.addon';

/**
 * The query parameters search engines carry the search terms in (Google, Bing,
 * DuckDuckGo: q; Yahoo: p; Yandex: text; Baidu: wd or word; others below).
 */
const TERM_PARAMETERS = ['q', 'query', 'p', 'text', 'wd', 'word', 'search', 'keyword', 'keywords', 'terms', 'qt', 'as_q', 'k'];

const BLANK: JsonObject = { medium: null, source: null, term: null };

const sameSite = (a: string, b: string) => a.replace(/^www\./, '') === b.replace(/^www\./, '');

/**
 * `keen:referrer_parser`: `{medium, source, term}`. INTERNAL when the
 * referrer is on the page's own domain, SEARCH / SOCIAL / EMAIL / PAID with
 * the source's name for a known referrer (and the search terms for a search),
 * UNKNOWN otherwise. A malformed referrer_url or page_url gives blank (null)
 * values, not an error, as Keen documents.
 */
export function referrerParser(table: ReferrerTable, referrerUrl: unknown, pageUrl: unknown): JsonObject {
  const referrer = parseUrl(referrerUrl);
  const page = parseUrl(pageUrl);
  if (!referrer || !page || !referrer.hostname) return { ...BLANK };
  if (sameSite(referrer.hostname, page.hostname)) return { medium: 'INTERNAL', source: null, term: null };
  const known = table.find(referrer.hostname, referrer.pathname);
  if (!known) return { medium: 'UNKNOWN', source: null, term: null };
  let term: string | null = null;
  if (known.medium === 'SEARCH') {
    for (const name of TERM_PARAMETERS) {
      const value = referrer.searchParams.get(name);
      if (value) {
        term = value;
        break;
      }
    }
  }
  return { medium: known.medium, source: known.source, term };
}
