import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { cliInstallation, print } from '../cli-stores';
import { expiredJournalFiles, listJournal, localDay } from '@app/core';

export const DEFAULT_JOURNAL_DAYS = 7;

/** The journal directory: --dir, else the running stack's. */
function journalDir(given?: string): string {
  const stackDir = cliInstallation().installation.stackDir;
  const dir = given ?? (stackDir ? path.join(stackDir, 'journal') : undefined);
  if (!dir)
    throw new Error('no journal directory: pass --dir <dir> (no running stack is followed)');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new Error(`${dir} is not a directory`);
  return dir;
}

function days(text: string): number {
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 3650))
    throw new Error('--keep-days is a whole number of days from 1 to 3650');
  return n;
}

const human = (bytes: number) =>
  bytes >= 1 << 30
    ? `${(bytes / (1 << 30)).toFixed(1)} GiB`
    : bytes >= 1 << 20
      ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
      : `${(bytes / 1024).toFixed(1)} KiB`;

/**
 * `tally journal status|prune`: the edge journal's day files (nginx starts a
 * new one each day by itself), their total size, and the deletion of those
 * past the retention (7 days unless --keep-days says otherwise).
 */
export function registerJournalCommands(program: Command): void {
  const journal = program
    .command('journal')
    .description(
      'The edge journal of write requests (one file a day): its size, and pruning past its retention',
    );

  journal
    .command('status')
    .description('List the journal files with their size and the total')
    .option('--dir <dir>', "the journal directory (default: the running stack's)")
    .option(
      '--keep-days <n>',
      'the retention prune applies, to show what it would delete',
      String(DEFAULT_JOURNAL_DAYS),
    )
    .option('--json', 'print {"dir","files","totalBytes","expired"}')
    .action((opts: { dir?: string; keepDays: string; json?: boolean }) => {
      const dir = journalDir(opts.dir);
      const files = listJournal(dir);
      const expired = expiredJournalFiles(files, localDay(new Date()), days(opts.keepDays));
      const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
      print(
        {
          dir,
          files: files.map((f) => ({ name: f.name, bytes: f.bytes, day: f.day ?? null })),
          totalBytes,
          expired: expired.map((f) => f.name),
        },
        Boolean(opts.json),
        () =>
          [
            ...files.map(
              (f) =>
                `${f.name}\t${human(f.bytes)}${expired.includes(f) ? '\t(past retention)' : ''}`,
            ),
            `${files.length} file(s), ${human(totalBytes)} in ${dir}`,
          ].join('\n'),
      );
    });

  journal
    .command('prune')
    .description('Delete the day files older than --keep-days days (today counts as one)')
    .option('--dir <dir>', "the journal directory (default: the running stack's)")
    .option('--keep-days <n>', 'days kept', String(DEFAULT_JOURNAL_DAYS))
    .option('--dry-run', 'list what would be deleted; delete nothing')
    .option('--json', 'print {"deleted","freedBytes","keptFiles","keptBytes"}')
    .action((opts: { dir?: string; keepDays: string; dryRun?: boolean; json?: boolean }) => {
      const dir = journalDir(opts.dir);
      const files = listJournal(dir);
      const expired = expiredJournalFiles(files, localDay(new Date()), days(opts.keepDays));
      if (!opts.dryRun) for (const f of expired) fs.rmSync(f.path, { force: true });
      const kept = files.filter((f) => !expired.includes(f));
      const freedBytes = expired.reduce((n, f) => n + f.bytes, 0);
      const keptBytes = kept.reduce((n, f) => n + f.bytes, 0);
      print(
        {
          deleted: expired.map((f) => f.name),
          freedBytes,
          keptFiles: kept.length,
          keptBytes,
          dryRun: Boolean(opts.dryRun),
        },
        Boolean(opts.json),
        () =>
          `${opts.dryRun ? 'would delete' : 'deleted'} ${expired.length} file(s) (${human(freedBytes)}); ` +
          `${kept.length} file(s) kept (${human(keptBytes)})`,
      );
    });
}
