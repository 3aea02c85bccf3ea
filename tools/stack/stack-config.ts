import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultStateDir, ensureDir } from './stack-paths';

/** Where the running stack's configuration is recorded (`.stack/stack.json`). */
export function stackConfigPath(stateDir?: string): string {
  if (!stateDir && process.env.TALLY_STACK_FILE) return resolve(process.env.TALLY_STACK_FILE);
  return join(stateDir ?? defaultStateDir(), 'stack.json');
}

export interface ServiceSpec {
  name: string;
  kind: 'redis' | 'mongo' | 'cassandra' | 'nginx' | 'app';
  port: number;
  /** The options the service module's start() was called with (minus stateDir). */
  options: Record<string, unknown>;
}

export interface StackFile {
  version: 1;
  updatedAt: string;
  stateDir: string;
  store: string;
  /** What the CLI (`npm run tally`) and tests need to reach the stack's stores. */
  env: Record<string, string>;
  services: ServiceSpec[];
}

/**
 * The environment of the running (or last started) local stack, for the CLI:
 * STORE, QUEUE, MONGO_URL, MONGO_DATABASE, REDIS_URLS, CASSANDRA_CONTACT_POINTS,
 * CASSANDRA_KEYSPACE, ID_SECRET. Null when no stack was ever started here.
 */
export function readStackConfig(stateDir?: string): Record<string, string> | null {
  const file = readStackFile(stateDir);
  return file ? { ...file.env } : null;
}

export function readStackFile(stateDir?: string): StackFile | null {
  const path = stackConfigPath(stateDir);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StackFile;
  } catch {
    return null;
  }
}

export function writeStackFile(stateDir: string, file: StackFile): void {
  ensureDir(stateDir);
  const path = join(stateDir, 'stack.json');
  writeFileSync(`${path}.tmp`, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
