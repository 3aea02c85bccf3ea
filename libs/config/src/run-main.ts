import { ConfigError } from './load-config';

/**
 * Runs a process entry point: a configuration error stops it with a message
 * naming the variable (exit 78, EX_CONFIG); anything else with its stack.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
