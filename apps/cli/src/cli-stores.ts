import { loadConfig } from '@app/config';
import { openStores, Stores } from '@app/storage';
import { progressReporter } from './progress';
import { cliEnvironment } from './cli-environment';

/** Opens the configured stores for one command and closes them after. */
export async function withStores<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores(loadConfig('cli', cliEnvironment()));
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** A long operation on one existing project's stores, with progress on stderr. */
export async function withProjectProgress<T>(
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

/** Text for people, one JSON document per line with --json (for scripts). */
export function print(value: unknown, json: boolean, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
}
