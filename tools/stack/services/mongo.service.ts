import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { aptInstall, hasCommand } from '../apt-install';
import { withInstallLock } from '../install-lock';
import {
  assertPortFree,
  liveRecord,
  spawnRecorded,
  serviceHandle,
  stopRecorded,
  waitReady,
} from '../process-control';
import { dataDir, repoRoot } from '../stack-paths';
import { ServiceHandle, ServiceStartOptions } from '../service.types';

/**
 * MongoDB-wire server for local runs and tests: tools/mongo-server, a small Java main
 * over de.bwaldvogel:mongo-java-server (no registry ships a real mongod). The H2
 * backend keeps data in one file, so stop + start keeps what was written.
 */
export interface MongoStartOptions extends ServiceStartOptions {
  /** h2 (default): file-backed, survives a graceful restart; memory: nothing kept. */
  backend?: 'h2' | 'memory';
  /** The JVM's heap limit in MiB (default 1024); the memory backend holds every document in it. */
  heapMb?: number;
}

export function toolDir(): string {
  return join(repoRoot(), 'tools', 'mongo-server');
}

export function jarPath(): string {
  return join(toolDir(), 'target', 'tally-mongo-server.jar');
}

function newestSource(): number {
  const files = [
    join(toolDir(), 'pom.xml'),
    join(toolDir(), 'src/main/java/dev/tally/mongoserver/Main.java'),
  ];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/** Java 17 + Maven from apt if missing; builds the jar when missing or older than its sources. */
export function install(): void {
  const missing: string[] = [];
  if (!hasCommand('java') || !hasCommand('javac')) missing.push('openjdk-17-jdk-headless');
  if (!hasCommand('mvn')) missing.push('maven');
  if (missing.length) {
    process.stderr.write(`installing ${missing.join(', ')} (apt-get)...\n`);
    aptInstall(missing);
  }
  const jar = jarPath();
  const fresh = () => existsSync(jar) && statSync(jar).mtimeMs >= newestSource();
  if (fresh()) return;
  withInstallLock('mongo-server-build', () => {
    if (fresh()) return;
    process.stderr.write('building tools/mongo-server (mvn -B -q package)...\n');
    execFileSync('mvn', ['-B', '-q', 'package'], {
      cwd: toolDir(),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (!existsSync(jar)) throw new Error(`mvn package did not produce ${jar}`);
  });
}

export function mongoUrl(port: number, db = 'tally'): string {
  return `mongodb://127.0.0.1:${port}/${db}`;
}

/** Resolves true when the server answers the `ping` command through the Node driver. */
export async function mongoPing(port: number, timeoutMs = 1000): Promise<boolean> {
  const client = new MongoClient(mongoUrl(port), {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    directConnection: true,
  });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    return res.ok === 1;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function start(opts: MongoStartOptions): Promise<ServiceHandle> {
  const running = liveRecord(opts.stateDir, opts.name);
  if (running) return serviceHandle(opts, running.pid);
  install();
  await assertPortFree(opts.name, opts.port);
  const backend = opts.backend ?? 'h2';
  const args = [
    '-Xms128m',
    `-Xmx${opts.heapMb ?? 1024}m`,
    '-jar',
    jarPath(),
    '--host',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--backend',
    backend,
  ];
  if (backend === 'h2') args.push('--file', join(dataDir(opts.stateDir, opts.name), 'mongo.mv'));
  const rec = spawnRecorded({
    name: opts.name,
    kind: 'mongo',
    port: opts.port,
    stateDir: opts.stateDir,
    command: 'java',
    args,
    probe: 'tcp',
    stopTimeoutMs: 15_000,
  });
  await waitReady(rec, () => mongoPing(opts.port, 500), opts.readyTimeoutMs ?? 30_000);
  return serviceHandle(opts, rec.pid);
}

export function stop(stateDir: string, name: string): Promise<boolean> {
  return stopRecorded(stateDir, name);
}
