import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './stack-paths';

const pause = new Int32Array(new SharedArrayBuffer(4));

function holderAlive(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` while holding a machine-wide lock (a directory under ~/.cache/tally/locks).
 * Installs run from parallel jest workers on a fresh machine: two `mvn package` in one
 * target dir, or two downloads into one cache dir, would corrupt each other. A lock
 * whose holder died is taken over.
 */
export function withInstallLock<T>(name: string, fn: () => T, timeoutMs = 15 * 60_000): T {
  const dir = join(cacheDir(), 'locks', `${name}.lock`);
  mkdirSync(join(cacheDir(), 'locks'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      break;
    } catch {
      if (!holderAlive(dir)) {
        // Give a holder that just created the dir time to write its pid.
        Atomics.wait(pause, 0, 0, 200);
        if (!holderAlive(dir)) rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the ${name} install lock (${dir})`);
      Atomics.wait(pause, 0, 0, 250);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
