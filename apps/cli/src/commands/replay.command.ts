import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { createGunzip } from 'node:zlib';
import { Command } from 'commander';
import { listJournal, persisterFor, replayJournal, ReplayOutcome } from '@app/core';
import { cliConfig, cliInstallation, print, withStores } from '../cli-stores';
import { transferBar } from '../progress';

/** An ISO-8601 instant with its zone (a bare date-time is ambiguous across hosts). */
function instant(name: string, value: string): number {
  const ms = Date.parse(value);
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(value) || Number.isNaN(ms))
    throw new Error(`--${name} is an ISO-8601 instant with a zone, e.g. 2026-11-29T10:00:00Z`);
  return ms;
}

/**
 * The journal files to read: those given, else the running stack's journal
 * directory. A directory stands for every journal file in it (nginx's day
 * files, journal-YYYY-MM-DD.jsonl, and any rotated by hand, `.gz` included),
 * oldest name first.
 */
function journalFiles(given: string[]): string[] {
  const stackDir = cliInstallation().installation.stackDir;
  const sources = given.length > 0 ? given : stackDir ? [path.join(stackDir, 'journal')] : [];
  if (sources.length === 0)
    throw new Error('no journal to read: pass --journal <file|dir> (no running stack is followed)');
  return sources.flatMap((source) => {
    if (!fs.statSync(source).isDirectory()) return [source];
    return listJournal(source).map((f) => f.path);
  });
}

async function* linesOf(files: string[], onFile: (bytes: number) => void): AsyncIterable<string> {
  for (const file of files) {
    const raw = fs.createReadStream(file);
    raw.on('data', (chunk) => onFile(chunk.length));
    const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    yield* readline.createInterface({ input, crlfDelay: Infinity });
  }
}

/** `tally replay`: re-send the acknowledged writes of an edge-journal window. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'Re-send the acknowledged write requests of a time window of the edge journal through the write path; ' +
        'keen.ids are derived as at the time, so only what was lost is stored again (run it twice: nothing changes)',
    )
    .requiredOption(
      '--from <iso>',
      'first edge receipt time to replay (inclusive), e.g. 2026-11-29T10:00:00Z',
    )
    .requiredOption('--to <iso>', 'end of the window (exclusive)')
    .option('--project <id>', 'only this project')
    .option(
      '--journal <path...>',
      "journal files or directories (default: the running stack's journal directory)",
    )
    .option('--dry-run', 'count what would be re-sent; write nothing')
    .option('--json', 'print the outcome as JSON')
    .action(
      async (opts: {
        from: string;
        to: string;
        project?: string;
        journal?: string[];
        dryRun?: boolean;
        json?: boolean;
      }) => {
        const from = instant('from', opts.from);
        const to = instant('to', opts.to);
        if (to <= from) throw new Error('--to must be after --from');
        const files = journalFiles(opts.journal ?? []);
        const total = files.reduce((n, f) => n + fs.statSync(f).size, 0);
        const config = cliConfig();
        const outcome = await withStores(async (s) => {
          if (opts.project !== undefined && !(await s.metadata.getProject(opts.project)))
            throw new Error(`project "${opts.project}" does not exist`);
          const bar = transferBar(opts.dryRun ? 'reading' : 'replaying', 'requests', total);
          let read = 0;
          let last: ReplayOutcome | undefined;
          const draw = () =>
            last &&
            bar.update(
              read,
              last.requests,
              `${last.inserted} restored, ${last.duplicates} already stored, ${last.refused} refused`,
            );
          try {
            return await replayJournal(
              persisterFor(s),
              linesOf(files, (bytes) => {
                read += bytes;
              }),
              {
                from,
                to,
                projectId: opts.project,
                idSecret: s.idSecret,
                maxEventBytes: config.limits.maxEventBytes,
                dryRun: opts.dryRun,
                onProgress: (p) => {
                  last = p;
                  draw();
                },
                onUnreadable: (line, reason) =>
                  process.stderr.write(`journal line ${line} unreadable: ${reason}\n`),
              },
            );
          } finally {
            bar.stop();
          }
        });
        print({ ...outcome, dryRun: Boolean(opts.dryRun), files }, Boolean(opts.json), () =>
          opts.dryRun
            ? `would re-send ${outcome.requests} requests (${outcome.inserted} events, ${outcome.refused} refused) from ${files.length} file(s)`
            : `replayed ${outcome.requests} requests: ${outcome.inserted} events restored, ${outcome.duplicates} already stored, ${outcome.refused} refused, ${outcome.unreadable} unreadable lines`,
        );
      },
    );
}
