import { Worker } from 'node:worker_threads';
import { Query, QueryLimits } from '@app/query-engine';
import { CompiledAnswer, CompiledQueries } from '../../ports/compiled-queries.port';
import type { CopyProgress } from '../columnar-copy';
import { ColumnarThreadData, FromColumnar, ToColumnar } from './columnar-protocol';

export interface ColumnarThreadOptions extends ColumnarThreadData {
  /** The built entry file that calls runColumnarThread (apps/standalone). */
  entry: string;
  log: (message: string) => void;
  /** How a long catch-up of the copy goes (the fill after an upgrade, a restore, a burst). */
  onProgress?: (progress: CopyProgress) => void;
  /** Before a stopped thread is started again, ms. */
  restartMs?: number;
}

/**
 * The HTTP thread's side of the columnar thread (columnar-thread.body.ts):
 * CompiledQueries over messages. While the thread starts, restarts after a
 * crash, or stops, queries are declined and the TypeScript engine answers:
 * the copy only ever makes answers faster, never unavailable.
 */
export class ColumnarThread implements CompiledQueries {
  private worker: Worker | undefined;
  private ready = false;
  private closing = false;
  private nextId = 1;
  private failedStarts = 0;
  private readonly pending = new Map<number, (answer: CompiledAnswer) => void>();
  private closed: (() => void) | undefined;
  private tid: number | undefined;

  constructor(private readonly options: ColumnarThreadOptions) {}

  /** The running thread's OS thread id (Linux; undefined until it is ready, or elsewhere). */
  get threadId(): number | undefined {
    return this.ready ? this.tid : undefined;
  }

  start(): void {
    const { entry, log, onProgress, restartMs: _r, ...data } = this.options;
    const worker = new Worker(entry, { workerData: data satisfies ColumnarThreadData });
    this.worker = worker;
    worker.on('message', (message: FromColumnar) => {
      switch (message.type) {
        case 'ready':
          this.ready = true;
          this.tid = message.tid;
          break;
        case 'answered':
          this.pending.get(message.id)?.(message.answer);
          this.pending.delete(message.id);
          break;
        case 'round-failed':
          log(`columnar copy round failed (retried on the next round): ${message.message}`);
          break;
        case 'notice':
          log(message.message);
          break;
        case 'progress':
          onProgress?.(message.progress);
          break;
        case 'closed':
          this.closed?.();
          break;
      }
    });
    worker.on('error', (error) => log(`columnar thread failed: ${error.message}`));
    worker.on('exit', () => {
      // A thread that dies before it is ready (it cannot open its copy) is
      // restarted less and less often, up to once a minute.
      this.failedStarts = this.ready ? 0 : this.failedStarts + 1;
      this.ready = false;
      this.worker = undefined;
      for (const resolve of this.pending.values())
        resolve({ declined: 'the columnar thread stopped' });
      this.pending.clear();
      this.closed?.();
      const delayMs = Math.min(
        60_000,
        (this.options.restartMs ?? 1_000) * 2 ** Math.max(0, this.failedStarts - 1),
      );
      if (!this.closing) setTimeout(() => this.closing || this.start(), delayMs).unref();
    });
    worker.unref();
  }

  answer(
    projectId: string,
    query: Query,
    options: { limits: Partial<QueryLimits> },
  ): Promise<CompiledAnswer> {
    const worker = this.worker;
    if (!worker || !this.ready)
      return Promise.resolve({ declined: 'the columnar thread is starting' });
    const id = this.nextId++;
    return new Promise((resolve) => {
      // Past the query's deadline the TypeScript engine takes over (and
      // answers 504 at its own deadline): a waiting client never waits twice.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ declined: 'the columnar thread did not answer within the query deadline' });
      }, options.limits.deadlineMs ?? 60_000);
      timer.unref();
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      const message: ToColumnar = {
        type: 'answer',
        id,
        projectId,
        query,
        limits: options.limits,
        now: Date.now(),
      };
      worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      this.closed = resolve;
      worker.postMessage({ type: 'close' } satisfies ToColumnar);
    });
  }
}
