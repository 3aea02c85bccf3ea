import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expiredJournalFiles, listJournal, localDay } from './journal-files';

describe('journal files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    const files: Record<string, number> = {
      'journal-2026-11-21.jsonl': 10,
      'journal-2026-11-22.jsonl.gz': 20,
      'journal-2026-11-23.jsonl': 30,
      'journal-2026-11-29.jsonl': 40,
      'journal.jsonl.1': 5, // rotated by hand: listed, never pruned
      'notes.txt': 1, // not a journal file
    };
    for (const [name, bytes] of Object.entries(files))
      fs.writeFileSync(path.join(dir, name), 'x'.repeat(bytes));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists the journal files oldest day first, with their size and day', () => {
    expect(listJournal(dir).map((f) => [f.name, f.bytes, f.day])).toEqual([
      ['journal-2026-11-21.jsonl', 10, '2026-11-21'],
      ['journal-2026-11-22.jsonl.gz', 20, '2026-11-22'],
      ['journal-2026-11-23.jsonl', 30, '2026-11-23'],
      ['journal-2026-11-29.jsonl', 40, '2026-11-29'],
      ['journal.jsonl.1', 5, undefined],
    ]);
  });

  it('keeps today and the days before it within the retention; day files only', () => {
    const files = listJournal(dir);
    expect(expiredJournalFiles(files, '2026-11-29', 7).map((f) => f.name)).toEqual([
      'journal-2026-11-21.jsonl',
      'journal-2026-11-22.jsonl.gz',
    ]);
    expect(expiredJournalFiles(files, '2026-11-29', 1).map((f) => f.name)).toEqual([
      'journal-2026-11-21.jsonl',
      'journal-2026-11-22.jsonl.gz',
      'journal-2026-11-23.jsonl',
    ]);
    // Across a month end: the 9 days to 2026-12-01 start on 2026-11-23.
    expect(expiredJournalFiles(files, '2026-12-01', 9).map((f) => f.name)).toEqual([
      'journal-2026-11-21.jsonl',
      'journal-2026-11-22.jsonl.gz',
    ]);
  });

  it('names the day as the local clock does', () => {
    const at = new Date(2026, 10, 29, 23, 59);
    expect(localDay(at)).toBe('2026-11-29');
  });
});
