import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const VENV = path.join(
  process.env.TALLY_CACHE_DIR || path.join(os.homedir(), '.cache', 'tally'),
  'py-keen-0.7.0',
);
const PYTHON = path.join(VENV, 'bin', 'python');

/** The unmodified PyPI client, in its own virtualenv (created once, from PyPI). */
export function ensureKeenClient(): void {
  if (fs.existsSync(PYTHON) && fs.existsSync(path.join(VENV, '.installed'))) return;
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '-q', 'keen==0.7.0'], {
    stdio: 'inherit',
  });
  fs.writeFileSync(path.join(VENV, '.installed'), 'keen==0.7.0\n');
}

/** Runs one script of test/python with the client; its stdout is one JSON object. */
export function runKeenScript(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
): any {
  const stdout = execFileSync(PYTHON, [path.join(__dirname, '../python', script), ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  }).toString();
  return JSON.parse(stdout);
}

/** The virtualenv's python, for specs that run a script their own way. */
export function keenPython(): string {
  return PYTHON;
}
