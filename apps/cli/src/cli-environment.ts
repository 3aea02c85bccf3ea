import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The CLI acts on the running stack's stores when `npm run stack -- up` has
 * recorded its configuration; explicit environment variables still win.
 */
export function cliEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  const file = path.resolve(env.TALLY_STACK_FILE || '.stack/stack.json');
  if (!fs.existsSync(file)) return env;
  const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as { env?: Record<string, string> };
  return { ...(recorded.env ?? {}), ...env };
}
