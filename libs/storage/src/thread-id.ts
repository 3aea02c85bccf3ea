import { readlinkSync } from 'node:fs';

/** The thread id in a /proc/thread-self link ("<pid>/task/<tid>"), or undefined. */
export function tidOfThreadSelf(link: string): number | undefined {
  const match = /^\d+\/task\/(\d+)$/.exec(link);
  return match ? Number(match[1]) : undefined;
}

/**
 * The OS thread id of the calling thread (Linux; undefined elsewhere). A
 * worker thread reports it to its host, so the host can read that thread's
 * CPU time from /proc (the thread CPU metric, and benchmarks).
 */
export function currentThreadId(): number | undefined {
  try {
    return tidOfThreadSelf(readlinkSync('/proc/thread-self'));
  } catch {
    return undefined;
  }
}
