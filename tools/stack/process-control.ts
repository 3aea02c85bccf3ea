import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { logDir, runDir } from './stack-paths';
import { ProbeKind, ProcessRecord, ServiceHandle, ServiceStartOptions } from './service.types';

export interface SpawnSpec {
  name: string;
  kind: string;
  port: number;
  stateDir: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  probe: ProbeKind;
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
}

/** Field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat, or null if gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    if (state === 'Z' || state === 'X') return null;
    return rest[19];
  } catch {
    return null;
  }
}

/** True when the process state is 'T' (stopped, e.g. by SIGSTOP). */
export function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  } catch {
    return false;
  }
}

function recordPath(stateDir: string, name: string): string {
  return join(runDir(stateDir), `${name}.json`);
}

export function readRecord(stateDir: string, name: string): ProcessRecord | null {
  const file = recordPath(stateDir, name);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord;
  } catch {
    return null;
  }
}

export function listRecords(stateDir: string): ProcessRecord[] {
  return readdirSync(runDir(stateDir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => readRecord(stateDir, f.slice(0, -5)))
    .filter((r): r is ProcessRecord => r !== null);
}

function writeRecord(stateDir: string, rec: ProcessRecord): void {
  const file = recordPath(stateDir, rec.name);
  writeFileSync(`${file}.tmp`, JSON.stringify(rec, null, 2));
  renameSync(`${file}.tmp`, file);
}

export function removeRecord(stateDir: string, name: string): void {
  rmSync(recordPath(stateDir, name), { force: true });
}

/** The recorded process is alive and is the one we started (same pid and start time). */
export function isOurs(rec: ProcessRecord | null): boolean {
  return !!rec && processStartTime(rec.pid) === rec.startTime;
}

/** The record of `name` if its process is still ours; a stale record is removed. */
export function liveRecord(stateDir: string, name: string): ProcessRecord | null {
  const rec = readRecord(stateDir, name);
  if (rec && isOurs(rec)) return rec;
  if (rec) removeRecord(stateDir, name);
  return null;
}

/**
 * Starts a long-running process in its own session (it outlives the CLI that started
 * it), stdout and stderr appended to `.stack/logs/<name>.log`, and records it.
 */
export function spawnRecorded(spec: SpawnSpec): ProcessRecord {
  const logFile = join(logDir(spec.stateDir), `${spec.name}.log`);
  const fd = openSync(logFile, 'a');
  writeFileSync(
    fd,
    `\n--- ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`,
  );
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${spec.name}: could not spawn ${spec.command}`);
  child.unref();
  const startTime = processStartTime(child.pid);
  if (startTime === null)
    throw new Error(`${spec.name}: ${spec.command} exited at once; see ${logFile}`);
  const rec: ProcessRecord = {
    name: spec.name,
    kind: spec.kind,
    pid: child.pid,
    port: spec.port,
    startTime,
    probe: spec.probe,
    command: spec.command,
    args: spec.args,
    logFile,
    startedAt: new Date().toISOString(),
    stopSignal: spec.stopSignal ?? 'SIGTERM',
    stopTimeoutMs: spec.stopTimeoutMs ?? 15_000,
  };
  writeRecord(spec.stateDir, rec);
  return rec;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitGone(rec: ProcessRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) return true;
    await sleep(100);
  }
  return !isOurs(rec);
}

/**
 * Stops a recorded process: its graceful signal, then SIGKILL to its whole process
 * group (nginx workers, anything it forked) after the timeout. A stopped (SIGSTOP)
 * process is continued first so it can handle the signal.
 */
export async function stopRecorded(
  stateDir: string,
  name: string,
  timeoutMs?: number,
): Promise<boolean> {
  const rec = readRecord(stateDir, name);
  if (!rec || !isOurs(rec)) {
    removeRecord(stateDir, name);
    return false;
  }
  try {
    process.kill(rec.pid, rec.stopSignal);
    if (isStopped(rec.pid)) process.kill(rec.pid, 'SIGCONT');
  } catch {
    /* gone meanwhile */
  }
  if (!(await waitGone(rec, timeoutMs ?? rec.stopTimeoutMs))) {
    try {
      process.kill(-rec.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(rec.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await waitGone(rec, 5_000);
  }
  removeRecord(stateDir, name);
  return true;
}

/** Sends `signal` to a recorded process after checking it is still ours. */
export function signalRecorded(
  stateDir: string,
  name: string,
  signal: NodeJS.Signals,
): ProcessRecord {
  const rec = readRecord(stateDir, name);
  if (!rec || !isOurs(rec))
    throw new Error(`${name} is not running (no live process recorded in ${stateDir})`);
  process.kill(rec.pid, signal);
  return rec;
}

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function tcpProbe(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Resolves true when Redis answers PING with +PONG within the timeout. A Redis that
 * is alive but hung (SIGSTOP) still accepts TCP connections, so TCP is not enough.
 */
export function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

export async function probe(rec: ProcessRecord): Promise<boolean> {
  if (!isOurs(rec) || isStopped(rec.pid)) return false;
  if (rec.probe === 'tcp') return tcpProbe(rec.port);
  if (rec.probe === 'redis') return redisPing(rec.port);
  return true;
}

export function tailLog(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `check` until it resolves true. Fails early, with the log's tail, if the
 * process dies meanwhile.
 */
export async function waitReady(
  rec: ProcessRecord,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) {
      throw new Error(
        `${rec.name} exited during start-up; last lines of ${rec.logFile}:\n${tailLog(rec.logFile)}`,
      );
    }
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(
    `${rec.name} not ready on port ${rec.port} after ${timeoutMs} ms; see ${rec.logFile}:\n${tailLog(rec.logFile)}`,
  );
}

/** Refuses to start on a port some other process already serves. */
export async function assertPortFree(name: string, port: number): Promise<void> {
  if (await tcpProbe(port, 500)) {
    throw new Error(
      `${name}: port 127.0.0.1:${port} is already in use by a process this stack did not start`,
    );
  }
}

/** `n` distinct loopback ports that were free a moment ago (tests pick their ports with it). */
export async function freePorts(n: number): Promise<number[]> {
  const { createServer } = await import('node:net');
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** The handle every service's start() returns: its stop() stops the recorded process. */
export function serviceHandle(opts: ServiceStartOptions, pid: number): ServiceHandle {
  return {
    name: opts.name,
    pid,
    port: opts.port,
    stop: async () => {
      await stopRecorded(opts.stateDir, opts.name);
    },
  };
}
