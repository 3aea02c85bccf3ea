import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { JsonObject, JsonValue, TallyError } from '@app/events';
import { QueryErrorCode } from '@app/query-engine';
import { ExtractionAttachment } from './extraction-mailer.port';

const gzipAsync = promisify(gzip);

/** Rows converted between two yields to the event loop, so a large file never holds it long. */
const ROWS_PER_SLICE = 500;

export type ExtractionFileType = 'json' | 'csv';

export interface ExtractionFileFormat {
  type: ExtractionFileType;
  /** Asked for with `content_encoding: gzip`; a file over the threshold is compressed anyway. */
  gzip: boolean;
}

/**
 * The file format an extraction asks for: `content_type` `application/json`
 * (default) or `text/csv`, `content_encoding` `gzip` or absent (Keen's
 * parameters). Anything else is a 400 naming the parameter.
 */
export function extractionFileFormat(
  contentType: unknown,
  contentEncoding: unknown,
): ExtractionFileFormat {
  const type = contentType === undefined ? 'application/json' : contentType;
  const encoding = contentEncoding === undefined ? '' : contentEncoding;
  if (
    typeof type !== 'string' ||
    !['application/json', 'text/csv'].includes(type.trim().toLowerCase())
  ) {
    throw new TallyError(
      'invalid',
      QueryErrorCode.parameter,
      '"content_type" of an emailed extraction must be "application/json" or "text/csv"',
    );
  }
  if (typeof encoding !== 'string' || !['', 'gzip'].includes(encoding.trim().toLowerCase())) {
    throw new TallyError(
      'invalid',
      QueryErrorCode.parameter,
      '"content_encoding" of an emailed extraction must be "gzip" or absent',
    );
  }
  return {
    type: type.trim().toLowerCase() === 'text/csv' ? 'csv' : 'json',
    gzip: encoding.trim().toLowerCase() === 'gzip',
  };
}

/**
 * The extraction as a file: JSON in the shape of the synchronous answer
 * (`{"result": [events]}`, built from each event's JSON text as it was read),
 * or CSV (below). Compressed with gzip when asked, or when larger than
 * `gzipAboveBytes`, so a large export still fits a mailbox's size limit;
 * the compression runs on libuv's thread pool, not the event loop.
 */
export async function buildExtractionFile(
  /** The events, for CSV only (JSON is built from their texts). */
  events: readonly JsonObject[],
  eventTexts: readonly string[],
  format: ExtractionFileFormat,
  gzipAboveBytes: number,
  baseName: string,
): Promise<ExtractionAttachment & { rawBytes: number; compressed: boolean }> {
  const raw =
    format.type === 'json'
      ? Buffer.from(`{"result":[${eventTexts.join(',')}]}`, 'utf8')
      : Buffer.from(await toCsv(events), 'utf8');
  const compressed = format.gzip || raw.length > gzipAboveBytes;
  const filename = `${baseName}.${format.type}${compressed ? '.gz' : ''}`;
  return {
    filename,
    contentType: compressed
      ? 'application/gzip'
      : format.type === 'json'
        ? 'application/json'
        : 'text/csv',
    content: compressed ? await gzipAsync(raw) : raw,
    rawBytes: raw.length,
    compressed,
  };
}

/**
 * CSV (RFC 4180, CRLF line ends, UTF-8): one column per leaf property path in
 * dot notation (`user.id`), the `keen.*` columns first and the rest in code
 * point order, one row per event, oldest first as in the extraction. A cell
 * holds a string as is, a number or boolean as its JSON text, a list (or an
 * empty object) as its JSON text; null and an absent property are both an
 * empty cell. Paths are kept in Maps, never as object keys, so a tenant's
 * property named `__proto__` is a column like any other.
 */
export async function toCsv(events: readonly JsonObject[]): Promise<string> {
  const rows: Map<string, string>[] = [];
  const columns = new Set<string>();
  for (let i = 0; i < events.length; i++) {
    if (i > 0 && i % ROWS_PER_SLICE === 0) await yieldToLoop();
    const row = flattenEvent(events[i]);
    for (const path of row.keys()) columns.add(path);
    rows.push(row);
  }
  const header = [...columns].sort(columnOrder);
  const lines = [header.map(csvCell).join(',')];
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % ROWS_PER_SLICE === 0) await yieldToLoop();
    lines.push(header.map((column) => csvCell(rows[i].get(column) ?? '')).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** An event's leaf values by dot path, as CSV cells render them. */
export function flattenEvent(event: JsonObject): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: JsonValue, path: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value);
      if (entries.length === 0 && path) out.set(path, '{}');
      for (const [key, child] of entries) walk(child, path ? `${path}.${key}` : key);
      return;
    }
    out.set(path, cellText(value));
  };
  walk(event, '');
  return out;
}

function cellText(value: JsonValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function columnOrder(a: string, b: string): number {
  const ak = a === 'keen' || a.startsWith('keen.');
  const bk = b === 'keen' || b.startsWith('keen.');
  if (ak !== bk) return ak ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Quoted when it holds a quote, comma, line break or edge blank; quotes doubled. */
function csvCell(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
