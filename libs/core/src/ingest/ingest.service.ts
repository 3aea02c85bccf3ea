import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TallyConfig } from '@app/config';
import {
  CollectionEvent,
  EventBatch,
  JsonObject,
  RequestOrigin,
  TallyError,
  assertCollectionName,
  prepareEvent,
} from '@app/events';
import { IngestQueue, IngestRateLimiter } from '@app/queue';
import {
  ackLatency,
  errorCodeLabel,
  eventsAccepted,
  eventsRejected,
  secondsSince,
  writesRateLimited,
} from '../metrics';
import { CappedCollectionsCache } from './capped-collections.cache';
import { EventAddons, RequestClient } from './addons';
import { withAutofill } from './autofill';

/**
 * `schema_capped` is Tally's addition (Keen's clients read only `success`):
 * the event was stored, but its collection is over its property cap, so the
 * schema may not list all of its properties.
 */
export type BatchResult = Record<
  string,
  Array<
    | { success: true; schema_capped?: true }
    | { success: false; error: { name: string; description: string } }
  >
>;

/** Synchronous work per turn of the event loop while a batch's events are prepared. */
const BATCH_SLICE_MS = 5;

export interface WriteOutcome {
  /** The collection is over its property cap (the event is stored in full all the same). */
  schemaCapped: boolean;
}

/**
 * The write use case: validate, enrich, and answer only once the queue holds
 * the events durably. A batch's bad events are reported and the rest stored.
 */
export class IngestService {
  constructor(
    private readonly config: TallyConfig,
    private readonly queue: IngestQueue,
    private readonly idSecret: string,
    private readonly capped: CappedCollectionsCache,
    /** Per-project write limits; absent when none is configured. */
    private readonly limiter?: IngestRateLimiter,
    /** keen.addons and the ${keen.*} placeholders (one per process: it holds the IP database). */
    private readonly addons: EventAddons = EventAddons.shared(),
  ) {}

  /**
   * `requestBytes`: the request body's size, spent against the project's byte
   * limit. `autofill`: the writing access key's `options.writes.autofill`.
   */
  async recordOne(
    origin: RequestOrigin,
    collection: string,
    body: unknown,
    requestBytes = 0,
    client: RequestClient = {},
    autofill?: JsonObject,
  ): Promise<WriteOutcome> {
    await this.admit(origin.projectId, 1, requestBytes);
    body = withAutofill(body, autofill);
    await this.addons.load([body], client);
    let event: CollectionEvent;
    try {
      assertCollectionName(collection);
      if (Array.isArray(body)) {
        throw new TallyError(
          'invalid',
          'InvalidEventError',
          'POST one event (a JSON object) to this URL; batches go to /events.',
        );
      }
      const options = this.prepareOptions();
      event = this.addons.apply(
        prepareEvent(collection, body, 0, origin, options),
        client,
        options.maxEventBytes,
      );
    } catch (error) {
      eventsRejected.inc({ reason: errorCodeLabel(error) });
      throw error;
    }
    await this.enqueue({
      batchId: randomUUID(),
      projectId: origin.projectId,
      events: [event],
    });
    // Asked after the enqueue: standalone's persister has reported by then.
    return { schemaCapped: this.capped.isCapped(origin.projectId, collection) };
  }

  async recordBatch(
    origin: RequestOrigin,
    body: unknown,
    requestBytes = 0,
    client: RequestClient = {},
    autofill?: JsonObject,
  ): Promise<BatchResult> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new TallyError(
        'invalid',
        'InvalidBatchError',
        'A batch is a JSON object mapping collection names to arrays of events.',
      );
    }
    const batch = body as JsonObject;
    let total = 0;
    for (const [collection, events] of Object.entries(batch)) {
      assertCollectionName(collection);
      if (!Array.isArray(events)) {
        throw new TallyError(
          'invalid',
          'InvalidBatchError',
          `Batch entry "${collection}" must be an array of events.`,
        );
      }
      total += events.length;
    }
    if (total > this.config.limits.maxBatchEvents) {
      throw new TallyError(
        'too_large',
        'BatchTooLargeError',
        `A batch holds at most ${this.config.limits.maxBatchEvents} events; this one has ${total}.`,
      );
    }
    // Before any event is validated: a flooding project spends no CPU beyond the parse.
    await this.admit(origin.projectId, total, requestBytes);
    await this.addons.load(Object.values(batch).flat(), client);
    const accepted: CollectionEvent[] = [];
    const result: BatchResult = {};
    const options = this.prepareOptions();
    // A full batch of enriched events is a few hundred ms of work: other
    // requests get the loop between slices of it.
    let sliceStart = performance.now();
    for (const [collection, events] of Object.entries(batch)) {
      const entries: BatchResult[string] = (result[collection] = []);
      for (const [index, raw] of (events as unknown[]).entries()) {
        if (performance.now() - sliceStart >= BATCH_SLICE_MS) {
          await nextTurn();
          sliceStart = performance.now();
        }
        try {
          const prepared = prepareEvent(
            collection,
            withAutofill(raw, autofill),
            index,
            origin,
            options,
          );
          accepted.push(this.addons.apply(prepared, client, options.maxEventBytes));
          entries.push({ success: true as const });
        } catch (error) {
          if (!(error instanceof TallyError)) throw error;
          eventsRejected.inc({ reason: errorCodeLabel(error) });
          entries.push({
            success: false as const,
            error: { name: error.errorCode, description: error.message },
          });
        }
      }
    }
    if (accepted.length > 0) {
      await this.enqueue({
        batchId: randomUUID(),
        projectId: origin.projectId,
        events: accepted,
      });
    }
    for (const [collection, entries] of Object.entries(result)) {
      if (!this.capped.isCapped(origin.projectId, collection)) continue;
      for (const entry of entries) if (entry.success) entry.schema_capped = true;
    }
    return result;
  }

  /** A 429 with Retry-After when the project is over a write limit; nothing is spent then. */
  private async admit(projectId: string, events: number, bytes: number): Promise<void> {
    if (!this.limiter || events === 0) return;
    const admission = await this.limiter.admit({ projectId, events, bytes });
    if (admission.admitted) return;
    writesRateLimited.inc({ limit: admission.limit });
    const { eventsPerSecond, bytesPerSecond } = this.config.limits.ingest;
    const limit =
      admission.limit === 'events'
        ? `${eventsPerSecond} events per second (INGEST_EVENTS_PER_SECOND)`
        : `${bytesPerSecond} bytes per second (INGEST_BYTES_PER_SECOND)`;
    throw new TallyError(
      'rate_limited',
      'RateLimitExceededError',
      `Project "${projectId}" is over its write limit of ${limit}; nothing of this request was stored. Retry in ${admission.retryAfterSeconds} s.`,
      admission.retryAfterSeconds,
    );
  }

  /** The queue's enqueue, measured: acknowledged events and the time the queue took. */
  private async enqueue(batch: EventBatch): Promise<void> {
    const start = performance.now();
    try {
      await this.queue.enqueue(batch);
    } catch (error) {
      ackLatency.observe({ outcome: 'refused' }, secondsSince(start));
      throw error;
    }
    ackLatency.observe({ outcome: 'acked' }, secondsSince(start));
    eventsAccepted.inc(batch.events.length);
  }

  private prepareOptions() {
    return { idSecret: this.idSecret, maxEventBytes: this.config.limits.maxEventBytes };
  }
}
