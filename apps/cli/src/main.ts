import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError } from '@app/config';
import { registerProjectCommands } from './commands/projects.command';
import { registerDeleteCommands } from './commands/delete.command';
import { registerSchemaCommands } from './commands/schema.command';

const program = new Command()
  .name('tally')
  .description(
    'Administer a Tally installation (the data dir, or the running stack when one is up).',
  );
registerProjectCommands(program);
registerDeleteCommands(program);
registerSchemaCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${error instanceof ConfigError ? 'Configuration error: ' : 'Error: '}${message}\n`,
  );
  process.exit(1);
});
