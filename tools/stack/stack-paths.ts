import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * The repository root, found by walking up to package.json: this file runs both from
 * `tools/stack` (ts-jest) and from `dist/tools/stack` (compiled).
 */
export function repoRoot(): string {
  let dir = resolve(__dirname);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tools', 'mongo-server')))
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root above ${__dirname}`);
    dir = parent;
  }
}

/** Default state dir: pid records, logs, data and rendered configs of the local stack. */
export function defaultStateDir(): string {
  return join(repoRoot(), '.stack');
}

/** Downloads that survive `down` and fresh clones (Cassandra jars). */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'tally');
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function runDir(stateDir: string): string {
  return ensureDir(join(stateDir, 'run'));
}

export function logDir(stateDir: string): string {
  return ensureDir(join(stateDir, 'logs'));
}

export function dataDir(stateDir: string, name: string): string {
  return ensureDir(join(stateDir, 'data', name));
}

export function confDir(stateDir: string, name: string): string {
  return ensureDir(join(stateDir, 'conf', name));
}
