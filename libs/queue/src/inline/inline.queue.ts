import { EventBatch, TallyError } from '@app/events';
import { EventPersister } from '@app/storage';
import { IngestQueue } from '../ingest-queue.port';
import { observeGroupCommit } from '../queue-metrics';

interface Pending {
  batch: EventBatch;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Standalone's queue: no queue at all, the request waits for its events to be
 * committed. Concurrent requests are group-committed: whatever arrives while a
 * commit is running goes into the next one, so one fsync serves many requests.
 */
export class InlineQueue implements IngestQueue {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly persister: EventPersister,
    /** How long a commit waits for more requests to join it. */
    private readonly lingerMs = 1,
  ) {}

  enqueue(batch: EventBatch): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new TallyError('unavailable', 'ServiceUnavailableError', 'Server is shutting down.', 1),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      // The commit's fsync blocks this thread, so requests can only join a
      // commit before it starts: linger briefly to let concurrent ones arrive.
      await new Promise((r) => setTimeout(r, this.lingerMs));
      const group = this.pending;
      this.pending = [];
      observeGroupCommit(
        'inline',
        group.reduce((n, p) => n + p.batch.events.length, 0),
      );
      try {
        await this.persister.persistAll(group.map((p) => p.batch));
        for (const p of group) p.resolve();
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
    this.flushing = null;
  }

  /** Nothing of its own to reach: readiness is the store's (checked on its port). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error('the inline queue is shutting down');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
  }
}
