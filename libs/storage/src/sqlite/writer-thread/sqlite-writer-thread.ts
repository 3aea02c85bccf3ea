import { Worker } from 'node:worker_threads';
import { CollectionEvent, EventBatch, TallyError } from '@app/events';
import { storeSpace } from '../../errors/store-space';
import {
  EventPersister,
  PersistOutcome,
  SchemaCappedListener,
} from '../../ports/event-persister.port';
import { FromWriter, ToWriter, WriterThreadData, fromWire } from './writer-protocol';

export interface SqliteWriterThreadOptions {
  /** The built entry file of the thread (it calls runSqliteWriterThread with the write use case). */
  entry: string;
  /** The SQLite file; the main thread's SqliteDatabase must have opened (and migrated) it first. */
  file: string;
  maxBytes?: number;
  maxProperties: number;
  /** Told when the thread stops unexpectedly and when it is started again. */
  log?: (level: 'warn' | 'error', message: string, error?: unknown) => void;
}

interface Waiter {
  resolve: (value: PersistOutcome) => void;
  reject: (error: unknown) => void;
}

/** The name readiness reports the SQLite store under (as SqliteDatabase does). */
const STORE = 'sqlite';
/** Restarts closer together than this back off (doubling, up to MAX_RESTART_DELAY_MS). */
const QUICK_EXIT_MS = 1000;
const MAX_RESTART_DELAY_MS = 5000;
/** How long close() waits for the thread to answer what it holds and exit before terminating it. */
const CLOSE_GRACE_MS = 10_000;

function writerStopped(): TallyError {
  return new TallyError(
    'unavailable',
    'ServiceUnavailableError',
    'The storage writer stopped before this write was committed; retry it.',
    1,
  );
}

/**
 * Standalone's write use case on SQLite, run in a worker thread that owns its
 * own write connection: the main (HTTP) thread posts each group commit and
 * gets its outcome back once the transaction is committed, so an fsync never
 * blocks the event loop. Implements the persister port, so the inline queue
 * and the capped-collections cache use it like the in-thread persister.
 *
 * - A thread that dies fails the writes it held with a retryable 503 (nothing
 *   of an uncommitted transaction is on disk; SQLite rolls it back) and is
 *   started again, immediately the first time, with backoff if it keeps dying.
 * - Main-thread writes (deletes, keys, delete jobs) go through `exclusive`,
 *   the main connection's write gate: the thread pauses between commits, so
 *   the main thread never waits for the file's write lock on its event loop.
 */
export class SqliteWriterThread implements EventPersister {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private readonly pauses = new Map<number, () => void>();
  private readonly listeners: SchemaCappedListener[] = [];
  private nextId = 1;
  private gateHeld = false;
  private closing = false;
  private startedAt = 0;
  private restartDelayMs = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();
  private tid: number | undefined;

  constructor(private readonly options: SqliteWriterThreadOptions) {}

  /** Starts the thread and resolves once it has opened the database. */
  async start(): Promise<void> {
    const worker = this.spawn();
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromWriter) => {
        if (message.type !== 'ready') return;
        worker.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number) => {
        this.closing = true;
        if (this.restartTimer) clearTimeout(this.restartTimer);
        reject(new Error(`the SQLite writer thread exited with code ${code} while starting`));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  /** The running thread's OS thread id (Linux; undefined before it is ready, or elsewhere). */
  get threadId(): number | undefined {
    return this.tid;
  }

  onSchemaCapped(listener: SchemaCappedListener): void {
    this.listeners.push(listener);
  }

  persist(projectId: string, events: CollectionEvent[]): Promise<PersistOutcome> {
    return this.persistAll([{ batchId: '', projectId, events }]);
  }

  /** One transaction in the thread; resolves once it is committed. */
  persistAll(batches: EventBatch[]): Promise<PersistOutcome> {
    const worker = this.worker;
    if (!worker || this.closing) return Promise.reject(writerStopped());
    const id = this.nextId++;
    return new Promise<PersistOutcome>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.post(worker, { type: 'persist', id, batches });
    });
  }

  /**
   * Runs `work` (a main-thread write transaction) while the thread commits
   * nothing: it answers what was posted before, then waits. Calls must not
   * overlap (SqliteDatabase serializes its writes).
   */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.gateHeld = true;
    try {
      const worker = this.worker;
      if (worker) {
        const id = this.nextId++;
        await new Promise<void>((resolve) => {
          this.pauses.set(id, resolve);
          this.post(worker, { type: 'pause', id });
        });
      }
      return await work();
    } finally {
      this.gateHeld = false;
      if (this.worker) this.post(this.worker, { type: 'resume' });
    }
  }

  /** Answers what was posted, then stops the thread (SIGTERM: after the queue has drained). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    this.post(worker, { type: 'close' });
    const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private spawn(): Worker {
    const data: WriterThreadData = {
      file: this.options.file,
      maxBytes: this.options.maxBytes,
      maxProperties: this.options.maxProperties,
      paused: this.gateHeld,
    };
    const worker = new Worker(this.options.entry, { workerData: data });
    this.worker = worker;
    this.startedAt = Date.now();
    worker.on('message', (message: FromWriter) => this.onMessage(message));
    worker.on('error', (error) =>
      this.options.log?.('error', 'the SQLite writer thread failed', error),
    );
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.tid = undefined;
        this.onExit(worker, code);
        resolve();
      });
    });
    return worker;
  }

  private post(worker: Worker, message: ToWriter): void {
    worker.postMessage(message);
  }

  private onMessage(message: FromWriter): void {
    switch (message.type) {
      case 'ready':
        this.tid = message.tid;
        return;
      case 'done': {
        const waiter = this.take(message.id);
        storeSpace.reportWritten(STORE);
        for (const { projectId, collection } of message.capped) {
          for (const listener of this.listeners) listener(projectId, collection);
        }
        waiter?.resolve(message.outcome);
        return;
      }
      case 'failed': {
        const error = fromWire(message.error);
        storeSpace.reportFull(STORE, error);
        this.take(message.id)?.reject(error);
        return;
      }
      case 'paused':
        this.pauses.get(message.id)?.();
        this.pauses.delete(message.id);
        return;
    }
  }

  private take(id: number): Waiter | undefined {
    const waiter = this.waiting.get(id);
    this.waiting.delete(id);
    return waiter;
  }

  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = null;
    // Whatever it had not answered was not committed (SQLite rolled back the
    // open transaction when the thread's connection closed): retryable.
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(writerStopped());
    // A pause it cannot answer any more: the lock went with its connection.
    const pauses = [...this.pauses.values()];
    this.pauses.clear();
    for (const resume of pauses) resume();
    if (this.closing) return;
    this.options.log?.(
      'error',
      `the SQLite writer thread exited (code ${code}); ${waiting.length} write(s) failed with 503, restarting it`,
    );
    this.restartDelayMs =
      Date.now() - this.startedAt < QUICK_EXIT_MS
        ? Math.min(MAX_RESTART_DELAY_MS, Math.max(100, this.restartDelayMs * 2))
        : 0;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.closing) this.spawn();
    }, this.restartDelayMs);
  }
}
