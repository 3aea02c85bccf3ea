import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { ServiceStatus } from '@tools/stack';

/**
 * CPU sets for the two sides of a split deployment on one host. In production
 * the write side (nginx, the ingest pool, the Redis shards) and the read side
 * (the query pool, the worker, the event store) run on different machines; on
 * a single test host, giving each side its own CPUs is the nearest equivalent,
 * so a benchmark measures what Tally's processes do to each other (shared
 * locks, pools, connections, queues) rather than two sides of one box
 * competing for the same two cores.
 */
export interface CpuPartition {
  /** taskset(1) CPU list of the write side and of the load generator. */
  write: string;
  /** taskset(1) CPU list of the read side. */
  read: string;
}

const WRITE_SIDE = /^(nginx|ingest-\d+|redis-\d+)$/;
const READ_SIDE = /^(query-\d+|worker-\d+|mongo|cassandra)$/;

/** The lower half of the host's CPUs for writes, the upper half for reads (null below 2 CPUs). */
export function halves(cpus = os.availableParallelism()): CpuPartition | null {
  if (cpus < 2) return null;
  const cut = Math.floor(cpus / 2);
  const list = (from: number, to: number) => (to - from === 1 ? `${from}` : `${from}-${to - 1}`);
  return { write: list(0, cut), read: list(cut, cpus) };
}

/** A process and all its descendants (nginx's workers, a launcher's JVM). */
function withDescendants(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(/\s+/).filter(Boolean)) {
      out.push(...withDescendants(Number(child)));
    }
  }
  return out;
}

/** Pins a process and every one of its threads; threads it starts later inherit the set. */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], {
    stdio: 'ignore',
  });
}

/** The CPUs a process may run on, as the kernel reports them. */
export function allowedCpus(pid: number): string {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? '?';
}

/**
 * Pins the stack's services to their side's CPUs and the calling process (the
 * load generator: HTTP clients stand for other machines, and keeping them on
 * the write side makes rounds with and without read load compete for the same
 * CPUs). Returns `name=cpus` for each pinned service, read back from /proc.
 */
export function applyPartition(services: ServiceStatus[], partition: CpuPartition): string {
  const report: string[] = [];
  for (const s of services) {
    if (!s.pid || !s.up) continue;
    const cpus = WRITE_SIDE.test(s.name)
      ? partition.write
      : READ_SIDE.test(s.name)
        ? partition.read
        : undefined;
    if (!cpus) continue;
    for (const pid of withDescendants(s.pid)) pin(pid, cpus);
    report.push(`${s.name}=${allowedCpus(s.pid)}`);
  }
  pin(process.pid, partition.write);
  report.push(`bench=${allowedCpus(process.pid)}`);
  return report.join(' ');
}
