import { loadConfig, TallyConfig } from '@app/config';
import { MetadataStores, openMetadataStores, openStores, Stores } from '@app/storage';
import { progressReporter } from './progress';
import { CliInstallation, describeInstallation, resolveInstallation } from './cli-environment';

let chosen: { installation: CliInstallation; config: TallyConfig } | null = null;

/** The installation this run acts on and its configuration, decided once per run. */
export function cliInstallation(): { installation: CliInstallation; config: TallyConfig } {
  if (!chosen) {
    const installation = resolveInstallation();
    chosen = { installation, config: loadConfig('cli', installation.env) };
  }
  return chosen;
}

export function cliConfig(): TallyConfig {
  return cliInstallation().config;
}

/**
 * Said first by every command, on stderr: which installation it acts on
 * (with --json only a notice that a recorded stack is not followed).
 */
export function announceInstallation(json: boolean): void {
  const { installation, config } = cliInstallation();
  if (installation.notice) process.stderr.write(`tally: ${installation.notice}\n`);
  if (!json) process.stderr.write(`tally: ${describeInstallation(installation, config)}\n`);
}

/** Opens the configured stores for one command and closes them after. */
export async function withStores<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores(cliConfig());
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** Only the metadata side (projects, keys, dead letters): never contacts Cassandra. */
export async function withMetadataStores<T>(
  work: (stores: MetadataStores) => Promise<T>,
): Promise<T> {
  const stores = await openMetadataStores(cliConfig());
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

/** Fails with a clear message unless the project exists. */
export async function requireProject(stores: Stores, project: string): Promise<void> {
  if (!(await stores.metadata.getProject(project)))
    throw new Error(`project "${project}" does not exist`);
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
    await requireProject(s, project);
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
