import * as fs from 'node:fs';
import * as path from 'node:path';

/** The edge's journal files: the current day files, older rotations and their .gz (replay reads them all). */
export const JOURNAL_FILE = /^journal.*\.jsonl(\.\d+)?(\.gz)?$/;
/** A day file as nginx names it (nginx/tally.conf.template): journal-YYYY-MM-DD.jsonl, maybe compressed. */
const DAY_FILE = /^journal-(\d{4}-\d\d-\d\d)\.jsonl(\.gz)?$/;

export interface JournalFile {
  name: string;
  path: string;
  bytes: number;
  /** The day it holds (YYYY-MM-DD) for a day file; undefined for any other journal file. */
  day?: string;
}

/** The journal files of a directory, oldest name (day) first. */
export function listJournal(dir: string): JournalFile[] {
  return fs
    .readdirSync(dir)
    .filter((name) => JOURNAL_FILE.test(name))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      return { name, path: file, bytes: fs.statSync(file).size, day: DAY_FILE.exec(name)?.[1] };
    });
}

/**
 * The day files older than `keepDays` days on `today` (YYYY-MM-DD, the
 * edge's date): with keepDays 7, today and the 6 days before are kept. Files
 * not named by day are never selected: the operator rotated those by hand.
 */
export function expiredJournalFiles(
  files: JournalFile[],
  today: string,
  keepDays: number,
): JournalFile[] {
  const first = new Date(Date.parse(`${today}T00:00:00Z`) - (keepDays - 1) * 86_400_000)
    .toISOString()
    .slice(0, 10);
  return files.filter((f) => f.day !== undefined && f.day < first);
}

/** The local date (as nginx's $time_iso8601 writes it) of an instant. */
export function localDay(at: Date): string {
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 10);
}
