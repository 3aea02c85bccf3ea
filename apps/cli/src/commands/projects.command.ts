import { Command } from 'commander';
import { createProject } from '@app/core';
import { print, withStores } from '../cli-stores';

/** `tally projects create|list`. */
export function registerProjectCommands(program: Command): void {
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
}
