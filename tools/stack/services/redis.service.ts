import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCommand } from '../apt-install';
import {
  assertPortFree,
  liveRecord,
  redisPing,
  spawnRecorded,
  serviceHandle,
  stopRecorded,
  waitReady,
} from '../process-control';
import { confDir, dataDir } from '../stack-paths';
import { ServiceHandle, ServiceStartOptions } from '../service.types';

/** Debian bookworm ships Redis 7.0; BullMQ needs >= 6.2 and `noeviction`. */
export function install(): void {
  ensureCommand('redis-server', 'redis-server');
}

/**
 * Our own Redis instance: loopback only, AOF fsynced before every answer
 * (`appendfsync always`: a job BullMQ acknowledged survives kill -9 of the shard;
 * everysec could lose up to a second of acknowledged jobs; the cost is in
 * docs/benchmarks.md), never evicts (an evicted job is a lost event), data in
 * `.stack/data/<name>`.
 */
export function renderConfig(opts: ServiceStartOptions): string {
  const dir = dataDir(opts.stateDir, opts.name);
  return [
    'bind 127.0.0.1',
    'protected-mode yes',
    `port ${opts.port}`,
    `dir ${dir}`,
    'daemonize no',
    'appendonly yes',
    'appendfsync always',
    'maxmemory-policy noeviction',
    'logfile ""',
    '',
  ].join('\n');
}

export async function start(opts: ServiceStartOptions): Promise<ServiceHandle> {
  const running = liveRecord(opts.stateDir, opts.name);
  if (running) return serviceHandle(opts, running.pid);
  install();
  await assertPortFree(opts.name, opts.port);
  const conf = join(confDir(opts.stateDir, opts.name), 'redis.conf');
  writeFileSync(conf, renderConfig(opts));
  const rec = spawnRecorded({
    name: opts.name,
    kind: 'redis',
    port: opts.port,
    stateDir: opts.stateDir,
    command: 'redis-server',
    args: [conf],
    probe: 'redis',
    stopTimeoutMs: 15_000,
  });
  await waitReady(rec, () => redisPing(opts.port, 500), opts.readyTimeoutMs ?? 20_000);
  return serviceHandle(opts, rec.pid);
}

export function stop(stateDir: string, name: string): Promise<boolean> {
  return stopRecorded(stateDir, name);
}
