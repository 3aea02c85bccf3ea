import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '@app/config';
import { openStores, Stores } from '@app/storage';
import { createProject } from '@app/auth';
import { cliEnvironment } from './cli-environment';

async function withStores<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores(loadConfig('cli', cliEnvironment()));
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

function print(value: unknown, json: boolean, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
}

const program = new Command()
  .name('tally')
  .description('Administer a Tally installation (the data dir, or the running stack when one is up).');

const projects = program.command('projects').description('Projects and their keys');

projects
  .command('create <name>')
  .description('Create a project and print its keys (shown only once)')
  .option('--id <id>', 'project id (default: random)')
  .option('--json', 'print {"id","write_key","read_key","master_key"}')
  .action(async (name: string, opts: { id?: string; json?: boolean }) => {
    const created = await withStores((s) => createProject(s.metadata, name, opts.id));
    print(created, Boolean(opts.json), () =>
      [`project ${created.id} (${name})`, `write_key  ${created.write_key}`, `read_key   ${created.read_key}`, `master_key ${created.master_key}`].join('\n'),
    );
  });

projects
  .command('list')
  .description('List projects')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const list = await withStores((s) => s.metadata.listProjects());
    print(list, Boolean(opts.json), () => list.map((p) => `${p.id}\t${p.name}\t${p.createdAt}`).join('\n'));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${error instanceof ConfigError ? 'Configuration error: ' : 'Error: '}${message}\n`);
  process.exit(1);
});
