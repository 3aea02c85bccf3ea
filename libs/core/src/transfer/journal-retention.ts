import * as fs from 'node:fs';
import { Log } from '../log.port';
import { expiredJournalFiles, JournalFile, listJournal, localDay } from './journal-files';

export interface JournalRetentionOptions {
  /** The edge journal's directory (nginx's TALLY_JOURNAL_DIR), as this process sees it. */
  dir: string;
  /** Day files kept: today and the days before it (7: a week of traffic to replay). */
  keepDays: number;
  /** Between sweeps, ms. */
  intervalMs: number;
}

export interface JournalSweep {
  removed: JournalFile[];
  /** Files and bytes the journal holds after the sweep. */
  files: number;
  bytes: number;
}

/**
 * Removes the journal's day files older than `keepDays` (the same rule as
 * `tally journal prune`). Several ingest processes may sweep one directory:
 * a file another process removed first is simply gone.
 */
export function sweepJournal(dir: string, keepDays: number, now = new Date()): JournalSweep {
  // Not there yet: nginx creates it with its first day file (it may start after us).
  if (!fs.existsSync(dir)) return { removed: [], files: 0, bytes: 0 };
  const files = listJournal(dir);
  const expired = expiredJournalFiles(files, localDay(now), keepDays);
  const removed: JournalFile[] = [];
  for (const file of expired) {
    try {
      fs.unlinkSync(file.path);
      removed.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const gone = new Set(expired.map((f) => f.path));
  const kept = files.filter((f) => !gone.has(f.path));
  return { removed, files: kept.length, bytes: kept.reduce((n, f) => n + f.bytes, 0) };
}

/**
 * The journal's retention, built into the ingest pool: a sweep at start and
 * every `intervalMs`, each logging what it removed and the journal's size, so
 * the edge keeps its week of traffic and no more without a cron job. A sweep
 * that fails (the directory missing, no permission) is logged and tried again
 * at the next interval; ingest never depends on it.
 */
export class JournalRetention {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: JournalRetentionOptions,
    private readonly log: Log,
  ) {}

  start(): void {
    this.sweep();
    this.timer = setInterval(() => this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  sweep(now = new Date()): JournalSweep | undefined {
    try {
      const result = sweepJournal(this.options.dir, this.options.keepDays, now);
      const mib = (result.bytes / 1024 / 1024).toFixed(1);
      const message =
        `journal: ${result.files} file(s), ${mib} MiB kept (${this.options.keepDays} days)` +
        (result.removed.length > 0
          ? `; removed ${result.removed.map((f) => f.name).join(', ')}`
          : '');
      this.log.log(message);
      return result;
    } catch (error) {
      this.log.warn(`journal sweep of ${this.options.dir} failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
