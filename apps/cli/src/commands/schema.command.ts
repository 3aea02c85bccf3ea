import { Command } from 'commander';
import { recountSchema } from '@app/core';
import { cliConfig, print, withStores } from '../cli-stores';

/** `tally schema recount`. */
export function registerSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('Schema counters');
  schema
    .command('recount <project> <collection>')
    .description(
      "Exact recount of a collection's counters (refused above SCHEMA_RECOUNT_MAX_EVENTS)",
    )
    .option('--json', 'print JSON')
    .action(async (project: string, collection: string, opts: { json?: boolean }) => {
      const config = cliConfig();
      const outcome = await withStores((s) =>
        recountSchema(s, project, collection, config.schema.recountMaxEvents),
      );
      print(
        outcome,
        Boolean(opts.json),
        () => `recounted ${outcome.events} events; ${outcome.corrected} counters corrected`,
      );
    });
}
