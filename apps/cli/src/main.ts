import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '@app/config';
import { EventDeleter, PropertyDeleter, recountSchema, createProject } from '@app/core';
import { openStores, Stores } from '@app/storage';
import { parseEventSelection } from '@app/query-engine';
import { assertCollectionName } from '@app/events';
import { progressReporter } from './progress';
import { cliEnvironment } from './cli-environment';

async function withStores<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores(loadConfig('cli', cliEnvironment()));
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** A long operation on one existing project's stores, with progress on stderr. */
async function withProjectProgress<T>(
  project: string,
  verb: string,
  quiet: boolean,
  work: (
    stores: Stores,
    onProgress: (p: { scanned: number; deleted: number }) => void,
  ) => Promise<T>,
): Promise<T> {
  return withStores(async (s) => {
    if (!(await s.metadata.getProject(project)))
      throw new Error(`project "${project}" does not exist`);
    const progress = progressReporter(verb, quiet);
    try {
      return await work(s, progress.update);
    } finally {
      progress.stop();
    }
  });
}

function print(value: unknown, json: boolean, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
}

const program = new Command()
  .name('tally')
  .description(
    'Administer a Tally installation (the data dir, or the running stack when one is up).',
  );

const projects = program.command('projects').description('Projects and their keys');

projects
  .command('create <name>')
  .description('Create a project and print its keys (shown only once)')
  .option('--id <id>', 'project id (default: random)')
  .option('--json', 'print {"id","write_key","read_key","master_key"}')
  .action(async (name: string, opts: { id?: string; json?: boolean }) => {
    const created = await withStores((s) => createProject(s.metadata, name, opts.id));
    print(created, Boolean(opts.json), () =>
      [
        `project ${created.id} (${name})`,
        `write_key  ${created.write_key}`,
        `read_key   ${created.read_key}`,
        `master_key ${created.master_key}`,
      ].join('\n'),
    );
  });

projects
  .command('list')
  .description('List projects')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const list = await withStores((s) => s.metadata.listProjects());
    print(list, Boolean(opts.json), () =>
      list.map((p) => `${p.id}\t${p.name}\t${p.createdAt}`).join('\n'),
    );
  });

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
          new EventDeleter(s.events, s.metadata, s.unitOfWork).delete(
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
          new PropertyDeleter(s.events, s.metadata, s.unitOfWork).delete(
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

const schema = program.command('schema').description('Schema counters');
schema
  .command('recount <project> <collection>')
  .description("Exact recount of a collection's counters (refused above SCHEMA_RECOUNT_MAX_EVENTS)")
  .option('--json', 'print JSON')
  .action(async (project: string, collection: string, opts: { json?: boolean }) => {
    const config = loadConfig('cli', cliEnvironment());
    const outcome = await withStores((s) =>
      recountSchema(s, project, collection, config.schema.recountMaxEvents),
    );
    print(
      outcome,
      Boolean(opts.json),
      () => `recounted ${outcome.events} events; ${outcome.corrected} counters corrected`,
    );
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${error instanceof ConfigError ? 'Configuration error: ' : 'Error: '}${message}\n`,
  );
  process.exit(1);
});
