import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { withInstallLock } from './install-lock';

/** True when `bin` is on PATH (or an absolute path that exists). */
export function hasCommand(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

let updated = false;

/**
 * apt-get installs packages for commands that are missing. Debian's postinst scripts
 * would start the system redis/nginx services (port 6379, port 80 on all interfaces):
 * a temporary /usr/sbin/policy-rc.d answering 101 stops that; we run our own instances.
 */
export function aptInstall(packages: string[]): void {
  withInstallLock('apt', () => aptInstallLocked(packages));
}

function aptInstallLocked(packages: string[]): void {
  if (process.getuid && process.getuid() !== 0) {
    throw new Error(
      `missing ${packages.join(', ')}: run as root or install them (apt-get install -y ${packages.join(' ')})`,
    );
  }
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Another apt (unattended upgrades, a developer's shell) may hold dpkg's lock: wait for it.
    const lock = ['-o', 'DPkg::Lock::Timeout=300'];
    if (!updated) {
      execFileSync('apt-get', [...lock, 'update', '-q'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env,
      });
      updated = true;
    }
    execFileSync(
      'apt-get',
      [...lock, 'install', '-y', '-q', '--no-install-recommends', ...packages],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env,
      },
    );
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

/** Installs `pkg` through apt when `bin` is not on PATH. */
export function ensureCommand(bin: string, pkg: string): void {
  if (hasCommand(bin)) return;
  process.stderr.write(`installing ${pkg} (apt-get) for ${bin}...\n`);
  // Re-checked under the lock: a parallel caller may have installed it meanwhile.
  withInstallLock('apt', () => hasCommand(bin) || aptInstallLocked([pkg]));
  if (!hasCommand(bin)) throw new Error(`${bin} still missing after apt-get install ${pkg}`);
}

/**
 * Debian's chromium (headless browser e2e, driven by puppeteer-core), with a font so
 * pages render text on a machine that has none. Returns the browser's executable.
 */
export function ensureChromium(): string {
  if (!hasCommand('chromium')) {
    process.stderr.write('installing chromium (apt-get)...\n');
    withInstallLock(
      'apt',
      () => hasCommand('chromium') || aptInstallLocked(['chromium', 'fonts-dejavu-core']),
    );
  }
  if (!hasCommand('chromium'))
    throw new Error('chromium still missing after apt-get install chromium');
  return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
}
