import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError } from '@app/config';
import { announceInstallation } from './cli-stores';
import { registerProjectCommands } from './commands/projects.command';
import { registerKeyCommands } from './commands/keys.command';
import { registerDeleteCommands } from './commands/delete.command';
import { registerSchemaCommands } from './commands/schema.command';
import { registerTransferCommands } from './commands/transfer.command';
import { registerDeadLetterCommands } from './commands/dead-letters.command';
import { registerReplayCommand } from './commands/replay.command';
import { registerRetentionCommands } from './commands/retention.command';
import { registerJournalCommands } from './commands/journal.command';
import { registerMarkerCommands } from './commands/markers.command';
import { registerSavedQueryCommands } from './commands/saved-queries.command';

const program = new Command()
  .name('tally')
  .description(
    'Administer a Tally installation (the data dir, or the running stack when one is up).',
  )
  .showHelpAfterError('(add --help for usage)');
registerProjectCommands(program);
registerKeyCommands(program);
registerDeleteCommands(program);
registerSchemaCommands(program);
registerTransferCommands(program);
registerDeadLetterCommands(program);
registerReplayCommand(program);
registerRetentionCommands(program);
registerJournalCommands(program);
registerMarkerCommands(program);
registerSavedQueryCommands(program);

// Every command first says which installation it acts on (stderr; not with --json).
program.hook('preAction', (_program, action) => {
  announceInstallation(Boolean(action.opts().json));
});

// `tally export … | head`: the reader went away; that is the end, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`Error: cannot write to stdout (${error.message})\n`);
  process.exit(1);
});

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = (error instanceof Error ? error.message : String(error))
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  process.stderr.write(
    `${error instanceof ConfigError ? 'Configuration error: ' : 'Error: '}${message}\n`,
  );
  process.exit(1);
});
