import { EventBatch, TallyError } from '@app/events';
import { EventPersister } from '@app/storage';
import { IngestQueue } from '../ingest-queue.port';
import { observeGroupCommit } from '../queue-metrics';

interface Pending {
  batch: EventBatch;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface InlineQueueOptions {
  /**
   * How long a group waits for more requests to join it before it is
   * committed. 0 (the default): no wait, a group goes as soon as a commit slot
   * is free (after the current task), and requests arriving while the slots
   * are taken gather for the next one; that is where grouping comes from.
   */
  lingerMs?: number;
  /**
   * Groups handed to the persister at once. With a persister that commits off
   * the event loop (standalone's writer thread), 2 keeps it busy: the next
   * group is waiting when a commit ends, while later requests gather for the
   * one after.
   */
  maxInFlight?: number;
  /**
   * Events accepted but not yet committed, at most; past it `enqueue` answers
   * 503 at once instead of queueing without bound. A batch larger than the
   * cap is still taken when nothing else is queued.
   */
  maxQueuedEvents?: number;
}

export const DEFAULT_MAX_QUEUED_EVENTS = 100_000;

/**
 * Standalone's queue: no queue at all, the request waits for its events to be
 * committed. Concurrent requests are group-committed: whatever arrives while a
 * commit is running goes into the next one, so one fsync serves many requests.
 */
export class InlineQueue implements IngestQueue {
  private pending: Pending[] = [];
  private inFlight = 0;
  private queuedEvents = 0;
  private scheduled = false;
  private closed = false;
  private idle: Array<() => void> = [];
  private readonly lingerMs: number;
  private readonly maxInFlight: number;
  private readonly maxQueuedEvents: number;

  constructor(
    private readonly persister: EventPersister,
    options: InlineQueueOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 0;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1);
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
  }

  enqueue(batch: EventBatch): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new TallyError('unavailable', 'ServiceUnavailableError', 'Server is shutting down.', 1),
      );
    }
    const size = batch.events.length;
    if (this.queuedEvents > 0 && this.queuedEvents + size > this.maxQueuedEvents) {
      return Promise.reject(
        new TallyError(
          'unavailable',
          'ServiceUnavailableError',
          `The server is holding ${this.queuedEvents} events not yet committed, its limit; nothing from this request was stored. Retry shortly.`,
          1,
        ),
      );
    }
    this.queuedEvents += size;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
      this.schedule();
    });
  }

  /** Events accepted and not yet committed (or failed). */
  get queued(): number {
    return this.queuedEvents;
  }

  private schedule(): void {
    if (this.scheduled || this.pending.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      this.flush();
    };
    if (this.lingerMs > 0) setTimeout(flush, this.lingerMs);
    // Not setImmediate: under query load a turn of the loop holds a few ms of
    // query slices, and the commit would start only after them.
    else queueMicrotask(flush);
  }

  private flush(): void {
    if (this.pending.length === 0 || this.inFlight >= this.maxInFlight) return;
    const group = this.pending;
    this.pending = [];
    const events = group.reduce((n, p) => n + p.batch.events.length, 0);
    observeGroupCommit('inline', events);
    this.inFlight++;
    const settle = (error?: unknown) => {
      this.inFlight--;
      this.queuedEvents -= events;
      for (const p of group) {
        if (error === undefined) p.resolve();
        else p.reject(error);
      }
      this.schedule();
      if (this.inFlight === 0 && this.pending.length === 0) {
        for (const resolve of this.idle.splice(0)) resolve();
      }
    };
    let started: Promise<unknown>;
    try {
      started = this.persister.persistAll(group.map((p) => p.batch));
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      () => settle(),
      (error: unknown) => settle(error ?? new Error('the commit failed')),
    );
  }

  /** Nothing of its own to reach: readiness is the store's (checked on its port). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error('the inline queue is shutting down');
  }

  /** Stops taking events and resolves once every accepted one is committed (or failed). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.pending.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
