import {
  IngestJobDelivery,
  IngestJobHandler,
  IngestJobOutcome,
  IngestBatchPayload,
} from '@app/queue';
import { CollectionEvent } from '@app/events';
import {
  EventPersister,
  isRetryableStoreError,
  DeadLetterEntry,
  DeadLetterStore,
  isRejectedEventsError,
} from '@app/storage';
import {
  deadLettered,
  ensureProcessMetrics,
  eventsStored,
  jobsProcessed,
  secondsSince,
  storeRetries,
  storeWriteLatency,
  workerLag,
} from '../metrics';

export interface RetryPolicy {
  /** First backoff after a failed write (ms). */
  initialDelayMs: number;
  /** Backoff cap (ms): while the store is down, a write is retried at least this often. */
  maxDelayMs: number;
  /**
   * After this many failed attempts of a whole group, events are written one by
   * one: if some succeed and some fail, the failing ones are poison and are
   * dead-lettered; if all fail the store is considered down and retries go on.
   */
  isolateAfterAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  isolateAfterAttempts: 5,
};

export type ProcessOutcome = IngestJobOutcome;

export type ProcessorEvent =
  | { kind: 'retry'; projectId: string; attempt: number; delayMs: number; error: string }
  | { kind: 'dead-lettered'; projectId: string; count: number; reason: string };

export class AbortedError extends Error {
  constructor() {
    super('processing aborted (worker closing)');
    this.name = 'AbortedError';
  }
}

/**
 * The queue-independent part of the worker: a job's events → the one write use
 * case, per project. Store failures are retried in-process with capped
 * exponential backoff for as long as it takes (the job stays active and locked,
 * so nothing else picks it up); poison events go to the dead-letter store
 * instead of blocking the batch.
 */
export class IngestJobProcessor implements IngestJobHandler {
  constructor(
    private readonly persister: Pick<EventPersister, 'persist'>,
    private readonly deadLetters: DeadLetterStore,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly onEvent: (event: ProcessorEvent) => void = () => undefined,
  ) {
    ensureProcessMetrics();
  }

  async process(
    payload: IngestBatchPayload,
    signal?: AbortSignal,
    delivery?: IngestJobDelivery,
  ): Promise<ProcessOutcome> {
    let total: ProcessOutcome;
    try {
      total = await this.processJob(payload, signal);
    } catch (error) {
      jobsProcessed.inc({ outcome: error instanceof AbortedError ? 'aborted' : 'failed' });
      throw error;
    }
    jobsProcessed.inc({ outcome: 'stored' });
    eventsStored.inc({ result: 'inserted' }, total.inserted);
    eventsStored.inc({ result: 'duplicate' }, total.duplicates);
    if (delivery) workerLag.observe(Math.max(0, Date.now() - delivery.enqueuedAt) / 1000);
    return total;
  }

  private async processJob(
    payload: IngestBatchPayload,
    signal?: AbortSignal,
  ): Promise<ProcessOutcome> {
    const total: ProcessOutcome = { inserted: 0, duplicates: 0, deadLettered: 0, attempts: 0 };
    for (const group of payload.projects) {
      const outcome = await this.persistGroup(
        group.projectId,
        group.events,
        payload.batchId,
        signal,
      );
      total.inserted += outcome.inserted;
      total.duplicates += outcome.duplicates;
      total.deadLettered += outcome.deadLettered;
      total.attempts = Math.max(total.attempts, outcome.attempts);
    }
    return total;
  }

  private async persistGroup(
    projectId: string,
    events: CollectionEvent[],
    batchId: string,
    signal?: AbortSignal,
  ): Promise<ProcessOutcome> {
    const outcome: ProcessOutcome = { inserted: 0, duplicates: 0, deadLettered: 0, attempts: 0 };
    let remaining = events;
    let failures = 0;
    while (remaining.length > 0) {
      if (signal?.aborted) throw new AbortedError();
      outcome.attempts += 1;
      try {
        const result = await this.measuredPersist(projectId, remaining);
        outcome.inserted += result.inserted;
        outcome.duplicates += result.duplicates;
        return outcome;
      } catch (error) {
        if (isRejectedEventsError(error)) {
          // The rest of the write was stored and counted; set the refused ones aside.
          const reasons = new Map(error.rejected.map((r) => [r.id, r.reason]));
          await this.deadLetter(
            projectId,
            batchId,
            remaining.filter((e) => reasons.has(e.id)),
            (e) => reasons.get(e.id)!,
            signal,
          );
          outcome.deadLettered += reasons.size;
          outcome.inserted += error.persisted.inserted;
          outcome.duplicates += error.persisted.duplicates;
          return outcome;
        }
        failures += 1;
        if (
          failures >= this.retry.isolateAfterAttempts &&
          failures % this.retry.isolateAfterAttempts === 0
        ) {
          const isolated = await this.isolate(projectId, remaining, signal);
          if (isolated.failed.length > 0) {
            const reasons = new Map(isolated.failed.map((f) => [f.event.id, f.reason]));
            await this.deadLetter(
              projectId,
              batchId,
              isolated.failed.map((f) => f.event),
              (e) => reasons.get(e.id)!,
              signal,
            );
            outcome.deadLettered += isolated.failed.length;
          }
          outcome.inserted += isolated.inserted;
          outcome.duplicates += isolated.duplicates;
          if (isolated.transient.length === 0) return outcome;
          // What failed around an outage's edge stays in the job and is retried.
          remaining = isolated.transient;
        }
        const delayMs = this.backoff(failures);
        storeRetries.inc();
        this.onEvent({
          kind: 'retry',
          projectId,
          attempt: failures,
          delayMs,
          error: (error as Error).message,
        });
        await sleep(delayMs, signal);
      }
    }
    return outcome;
  }

  /**
   * Writes events one at a time to tell poison events from an unavailable
   * store. Only a failure with successes both before and after it is poison:
   * failures before the first success or after the last one are what a store
   * coming back (or going away) in the middle of the pass looks like, and
   * those events stay in the job to be retried, never dead-lettered.
   */
  private async isolate(projectId: string, events: CollectionEvent[], signal?: AbortSignal) {
    const results: ({ ok: true } | { ok: false; reason: string; retryable: boolean })[] = [];
    let stored = 0;
    let inserted = 0;
    let duplicates = 0;
    for (const event of events) {
      if (signal?.aborted) throw new AbortedError();
      try {
        const r = await this.measuredPersist(projectId, [event]);
        results.push({ ok: true });
        stored += 1;
        inserted += r.inserted;
        duplicates += r.duplicates;
      } catch (error) {
        // A store that says "unavailable" (e.g. another delivery's counters still
        // pending), or a driver timeout / dropped connection, is never describing
        // the event itself: such an event stays in the job, never dead-lettered.
        results.push({
          ok: false,
          reason: (error as Error).message,
          retryable: isRetryableStoreError(error),
        });
      }
    }
    const firstOk = results.findIndex((r) => r.ok);
    const lastOk = results.map((r) => r.ok).lastIndexOf(true);
    const failed: { event: CollectionEvent; reason: string }[] = [];
    const transient: CollectionEvent[] = [];
    results.forEach((r, i) => {
      if (r.ok) return;
      if (!r.retryable && i > firstOk && i < lastOk && firstOk >= 0)
        failed.push({ event: events[i], reason: r.reason });
      else transient.push(events[i]);
    });
    return { failed, transient, stored, inserted, duplicates };
  }

  /** Dead-lettering must not lose events either: retried like a store write. */
  private async deadLetter(
    projectId: string,
    batchId: string,
    events: CollectionEvent[],
    reasonOf: (e: CollectionEvent) => string,
    signal?: AbortSignal,
  ): Promise<void> {
    if (events.length === 0) return;
    const entries: DeadLetterEntry[] = events.map((event) => ({
      projectId,
      event,
      reason: reasonOf(event),
      batchId,
    }));
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new AbortedError();
      try {
        await this.deadLetters.add(entries);
        deadLettered.inc(entries.length);
        this.onEvent({
          kind: 'dead-lettered',
          projectId,
          count: entries.length,
          reason: entries[0].reason,
        });
        return;
      } catch (error) {
        const delayMs = this.backoff(attempt);
        this.onEvent({
          kind: 'retry',
          projectId,
          attempt,
          delayMs,
          error: `dead-letter: ${(error as Error).message}`,
        });
        await sleep(delayMs, signal);
      }
    }
  }

  /** One store write, timed: a rejection of some events is a write that happened (ok). */
  private async measuredPersist(projectId: string, events: CollectionEvent[]) {
    const start = performance.now();
    try {
      const result = await this.persister.persist(projectId, events);
      storeWriteLatency.observe({ outcome: 'ok' }, secondsSince(start));
      return result;
    } catch (error) {
      storeWriteLatency.observe(
        { outcome: isRejectedEventsError(error) ? 'ok' : 'error' },
        secondsSince(start),
      );
      throw error;
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(
      this.retry.maxDelayMs,
      this.retry.initialDelayMs * 2 ** Math.min(attempt - 1, 30),
    );
    // Jitter spreads the retries of many workers after an outage.
    return Math.round(base / 2 + Math.random() * (base / 2));
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
