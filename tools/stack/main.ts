import { Command } from 'commander';
import { restartService, stackDown, stackStatus, stackUp, StackStore } from './stack';

/**
 * `npm run stack -- up|down|status|restart <name>`: the split deployment on this machine, on loopback.
 * Exit codes: 0 ok; 1 failure; 2 `up` started the servers but some apps are not built.
 */
async function main(): Promise<void> {
  const program = new Command('stack').description(
    'Tally split deployment on this machine (loopback only)',
  );
  program
    .command('up')
    .description(
      'install what is missing and start nginx :8080, ingest x2, query x2, worker, Redis x2, Mongo-wire (+ Cassandra with STORE=cassandra)',
    )
    .option('--store <store>', 'event store: mongo or cassandra (default $STORE or mongo)')
    .option('--servers-only', 'start only Redis, Mongo-wire and Cassandra, no apps or nginx')
    .option('--env <KEY=VALUE...>', 'extra environment for the app processes')
    .action(async (opts: { store?: StackStore; serversOnly?: boolean; env?: string[] }) => {
      const env = Object.fromEntries(
        (opts.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      const t0 = Date.now();
      const res = await stackUp({ store: opts.store, apps: !opts.serversOnly, env });
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      if (res.started.length)
        process.stderr.write(`started: ${res.started.join(', ')} (${seconds} s)\n`);
      if (res.alreadyRunning.length)
        process.stderr.write(`already running: ${res.alreadyRunning.join(', ')}\n`);
      process.stderr.write(
        `config for npm run tally: ${res.stateDir}/stack.json; logs: ${res.stateDir}/logs/\n`,
      );
      if (res.missingApps.length) {
        process.stderr.write(
          `NOT STARTED: ${res.missingApps.join(', ')}: dist/apps/<app>/src/main.js is missing ` +
            `(the app is not written yet or did not build); nginx and the servers are ${opts.serversOnly ? 'up' : 'up where possible'}\n`,
        );
        process.exitCode = 2;
      }
      console.log(JSON.stringify(await stackStatus({ stateDir: res.stateDir }), null, 2));
    });
  program
    .command('down')
    .description('stop every process this stack started (data stays in .stack/data)')
    .action(async () => {
      const stopped = await stackDown();
      process.stderr.write(
        stopped.length ? `stopped: ${stopped.join(', ')}\n` : 'nothing was running\n',
      );
    });
  program
    .command('status')
    .description('print [{name, pid, port, up}] as JSON')
    .action(async () => {
      const status = await stackStatus();
      console.log(JSON.stringify(status, null, 2));
    });
  program
    .command('restart <name>')
    .description('gracefully restart one process of the stack (e.g. ingest-1, redis-2, nginx)')
    .action(async (name: string) => {
      const h = await restartService(name);
      process.stderr.write(`restarted ${h.name}: pid ${h.pid}, port ${h.port}\n`);
    });
  await program.parseAsync(process.argv);
}

main().catch((e: unknown) => {
  process.stderr.write(`stack: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
