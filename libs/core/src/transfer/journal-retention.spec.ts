import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JournalRetention, sweepJournal } from './journal-retention';

describe('journal retention', () => {
  let dir: string;
  const write = (name: string, bytes: number) =>
    fs.writeFileSync(path.join(dir, name), 'x'.repeat(bytes));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-journal-retention-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Noon: the same local day in any zone within ±11 h of UTC.
  const now = new Date('2026-03-20T12:00:00Z');

  it('keeps today and the six days before it, removes older day files, reports the size kept', () => {
    write('journal-2026-03-10.jsonl', 100);
    write('journal-2026-03-13.jsonl.gz', 50);
    write('journal-2026-03-14.jsonl', 10);
    write('journal-2026-03-20.jsonl', 20);
    write('journal.jsonl', 7); // rotated by hand: never touched
    write('notes.txt', 1); // not a journal file
    const result = sweepJournal(dir, 7, now);
    expect(result.removed.map((f) => f.name)).toEqual([
      'journal-2026-03-10.jsonl',
      'journal-2026-03-13.jsonl.gz',
    ]);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'journal-2026-03-14.jsonl',
      'journal-2026-03-20.jsonl',
      'journal.jsonl',
      'notes.txt',
    ]);
    expect({ files: result.files, bytes: result.bytes }).toEqual({ files: 3, bytes: 37 });
    // A second sweep (another ingest process, the next interval) removes nothing.
    expect(sweepJournal(dir, 7, now).removed).toEqual([]);
  });

  it('logs each sweep, and a failing sweep is logged and does not throw', () => {
    write('journal-2026-01-01.jsonl', 5);
    const lines: string[] = [];
    const log = {
      log: (m: unknown) => lines.push(String(m)),
      warn: (m: unknown) => lines.push(`WARN ${String(m)}`),
      error: () => undefined,
    };
    const retention = new JournalRetention({ dir, keepDays: 7, intervalMs: 3_600_000 }, log);
    expect(retention.sweep(now)?.removed.map((f) => f.name)).toEqual(['journal-2026-01-01.jsonl']);
    expect(lines[0]).toMatch(
      /0 file\(s\), 0\.0 MiB kept \(7 days\); removed journal-2026-01-01\.jsonl/,
    );
    // Not created yet (nginx starts after the ingest pool): an empty journal.
    const notYet = new JournalRetention(
      { dir: path.join(dir, 'later'), keepDays: 7, intervalMs: 1 },
      log,
    );
    expect(notYet.sweep(now)).toEqual({ removed: [], files: 0, bytes: 0 });
    // Not a directory: logged, not thrown.
    const file = path.join(dir, 'plain');
    fs.writeFileSync(file, '');
    const broken = new JournalRetention({ dir: file, keepDays: 7, intervalMs: 1 }, log);
    expect(broken.sweep(now)).toBeUndefined();
    expect(lines[lines.length - 1]).toMatch(/^WARN journal sweep of .*plain failed/);
  });
});
