import { readFileSync, readdirSync } from 'node:fs';

/** A thread's (or a whole process's) scheduling figures, from /proc. */
export interface ThreadStat {
  nice: number;
  /** User + system CPU time, in clock ticks (10 ms: USER_HZ is 100 on Linux). */
  cpuTicks: number;
}

/**
 * Fields of /proc/<pid>[/task/<tid>]/stat after the command name: nice is
 * field 19, utime and stime 14–15. Without `tid`, the whole process (CPU time
 * of all its threads). Undefined when the thread has exited meanwhile.
 */
export function threadStat(pid: number | 'self', tid?: number): ThreadStat | undefined {
  const file = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const fields = text.split(') ')[1].split(' ');
  return { nice: Number(fields[16]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** Every live thread of the process; one that exits between the listing and its read is left out. */
export function threadStats(pid: number | 'self'): Map<number, ThreadStat> {
  const stats = new Map<number, ThreadStat>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const stat = threadStat(pid, Number(t));
    if (stat !== undefined) stats.set(Number(t), stat);
  }
  return stats;
}
