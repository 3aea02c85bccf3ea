import { Command } from 'commander';
import { EventDeleter, PropertyDeleter } from '@app/core';
import { parseEventSelection } from '@app/query-engine';
import { assertCollectionName } from '@app/events';
import { print, withProjectProgress } from '../cli-stores';

/** `tally delete` and `tally delete-property`: the same deleters the query pool runs, with progress. */
export function registerDeleteCommands(program: Command): void {
  program
    .command('delete <project> <collection>')
    .description(
      'Delete events matching --filters/--timeframe (none: the whole collection), with progress',
    )
    .option('--filters <json>', 'Keen filters, as JSON')
    .option('--timeframe <timeframe>', 'relative (this_7_days) or absolute JSON {"start","end"}')
    .option('--timezone <tz>', 'IANA name or offset in seconds', 'UTC')
    .option('--dry-run', 'only count what would be deleted')
    .option('--json', 'print the outcome as JSON')
    .action(
      async (
        project: string,
        collection: string,
        opts: {
          filters?: string;
          timeframe?: string;
          timezone: string;
          dryRun?: boolean;
          json?: boolean;
        },
      ) => {
        assertCollectionName(collection);
        const selection = parseEventSelection({
          filters: opts.filters,
          timeframe: opts.timeframe,
          timezone: opts.timezone,
        });
        const verb = opts.dryRun ? 'counting' : 'deleting';
        const outcome = await withProjectProgress(
          project,
          verb,
          Boolean(opts.json),
          (s, onProgress) =>
            new EventDeleter(s.events, s.metadata, s.unitOfWork, s.writes, s.datasets).delete(
              project,
              collection,
              selection,
              {
                dryRun: opts.dryRun,
                onProgress,
              },
            ),
        );
        print(outcome, Boolean(opts.json), () =>
          opts.dryRun
            ? `${outcome.deleted} events would be deleted (${outcome.scanned} read)`
            : `${outcome.deleted} events deleted (${outcome.scanned} read)`,
        );
      },
    );

  program
    .command('delete-property <project> <collection> <property>')
    .description(
      'Remove a property (dotted path: user.address.city) from every event of a collection, with progress',
    )
    .option('--dry-run', 'only count the events that carry it')
    .option('--json', 'print the outcome as JSON')
    .action(
      async (
        project: string,
        collection: string,
        property: string,
        opts: { dryRun?: boolean; json?: boolean },
      ) => {
        assertCollectionName(collection);
        const verb = opts.dryRun ? 'counting' : 'rewriting';
        const outcome = await withProjectProgress(
          project,
          verb,
          Boolean(opts.json),
          (s, onProgress) =>
            new PropertyDeleter(s.events, s.metadata, s.unitOfWork, s.writes, s.datasets).delete(
              project,
              collection,
              property,
              {
                dryRun: opts.dryRun,
                onProgress: (p) => onProgress({ scanned: p.scanned, deleted: p.updated }),
              },
            ),
        );
        print(outcome, Boolean(opts.json), () =>
          opts.dryRun
            ? `${outcome.updated} events carry "${property}" (${outcome.scanned} read)`
            : `"${property}" removed from ${outcome.updated} events (${outcome.scanned} read` +
              (outcome.skipped > 0
                ? `; ${outcome.skipped} changed meanwhile and still carry it: run again)`
                : ')'),
        );
      },
    );
}
