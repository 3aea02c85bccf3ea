import { setTimeout as sleep } from 'node:timers/promises';
import { JsonObject, JsonValue, propertyNameProblem, StoredEvent, TallyError } from '@app/events';
import { forEachProperty, SchemaDelta, typeOf } from '@app/schema';
import { BodyReplacement, EventStore, MetadataStore, UnitOfWork, WritePath, DatasetStore } from '@app/storage';
import { PendingWrites } from './pending-writes';
import { changedRanges } from '../datasets/changed-ranges';

export interface PropertyDeleteProgress {
  /** Events read. */
  scanned: number;
  /** Events the property was removed from (dry run: events that carry it). */
  updated: number;
  /** Events that still carry it after the retries: rewritten or still settling meanwhile. */
  skipped: number;
}

export interface PropertyDeleteOptions {
  /** Events rewritten per store call (and per transaction on SQLite). */
  batchSize?: number;
  /** Count only; change nothing (the CLI's dry run). */
  dryRun?: boolean;
  /**
   * Pauses before each new attempt at events whose compare-and-set failed
   * while they still carry the property (a concurrent rewrite, or a write
   * whose counters were still pending). Their count is the number of retries.
   */
  retryDelaysMs?: number[];
  onProgress?: (progress: PropertyDeleteProgress) => void;
  signal?: AbortSignal;
}

interface Removal {
  event: StoredEvent;
  body: JsonObject;
  removed: JsonValue;
}

/**
 * The segments of a property path to delete: Keen property names joined by
 * dots. `keen` and everything under it are the server's and stay (403).
 */
export function parsePropertyPath(property: string): string[] {
  const segments = property.split('.');
  for (const segment of segments) {
    const problem = propertyNameProblem(segment);
    if (problem) {
      throw new TallyError(
        'invalid',
        'InvalidPropertyNameError',
        `Invalid property name "${property.slice(0, 300)}": each dot-separated part ${problem}.`,
      );
    }
  }
  if (segments[0] === 'keen') {
    // 403, not 400: the name is valid, the property is not the client's to
    // remove. Keen answers a delete of `keen` the same way (its code is not
    // documented; this one names the reason).
    throw new TallyError(
      'forbidden',
      'KeenPropertyDeleteForbiddenError',
      `"${property.slice(0, 300)}" cannot be deleted: keen and its sub-properties are set by the server.`,
    );
  }
  return segments;
}

/**
 * The body without the property at `path` and the value removed, or
 * undefined when the body lacks it. Only objects are descended (lists are
 * leaves, as in the schema); everything off the path is shared, not copied.
 */
export function withoutProperty(
  body: JsonObject,
  path: string[],
): { body: JsonObject; removed: JsonValue } | undefined {
  const [key, ...rest] = path;
  if (!Object.prototype.hasOwnProperty.call(body, key)) return undefined;
  const value = body[key];
  if (rest.length === 0) {
    const copy: JsonObject = { ...body };
    delete copy[key];
    return { body: copy, removed: value };
  }
  if (typeOf(value) !== 'object') return undefined;
  const inner = withoutProperty(value as JsonObject, rest);
  if (!inner) return undefined;
  // Rebuilt entry by entry (keeps key order; a `__proto__` name stays a plain property).
  const copy = Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, k === key ? inner.body : v]),
  );
  return { body: copy, removed: inner.removed };
}

/** Counter decrements for removed values: the path with its type, and every sub-property of an object. */
export function removalDeltas(
  collection: string,
  path: string,
  removed: JsonValue[],
): SchemaDelta[] {
  const totals = new Map<string, SchemaDelta>();
  const visit = (p: string, type: SchemaDelta['type']) => {
    const key = `${p}\u0000${type}`;
    const found = totals.get(key);
    if (found) found.delta -= 1;
    else totals.set(key, { collection, path: p, type, delta: -1 });
  };
  for (const value of removed) {
    const type = typeOf(value);
    visit(path, type);
    if (type === 'object') forEachProperty(value as JsonObject, visit, path);
  }
  return [...totals.values()];
}

/**
 * Deletes one property (a dotted path; an object goes with its
 * sub-properties) from every event of a collection that has it. Events are
 * streamed and rewritten in bounded batches, each batch a compare-and-set per
 * event, and the counters are decremented by exactly what the rewritten
 * events lost, in the same unit of work (one transaction on SQLite): the
 * schema stays exact without a rescan. Crash bounds on stores without
 * multi-document transactions: docs/design.md. Events whose delivery's
 * counters are still pending are left for the retries (PendingWrites): the
 * settle of a dead delivery counts the bodies it finds stored.
 */
export class PropertyDeleter {
  private readonly pendingWrites: PendingWrites;

  constructor(
    private readonly events: EventStore,
    private readonly metadata: MetadataStore,
    private readonly unitOfWork: UnitOfWork,
    writes: WritePath,
    /** The dataset change log: the rewritten events' time ranges, in the same unit of work. */
    private readonly datasets?: Pick<DatasetStore, 'recordChanges'>,
  ) {
    this.pendingWrites = new PendingWrites(writes);
  }

  async delete(
    projectId: string,
    collection: string,
    property: string,
    options: PropertyDeleteOptions = {},
  ): Promise<PropertyDeleteProgress> {
    const path = parsePropertyPath(property);
    const batchSize = options.batchSize ?? 500;
    const progress: PropertyDeleteProgress = { scanned: 0, updated: 0, skipped: 0 };
    // Only ids are kept across the scan; bodies are read again for a retry.
    let retry: string[] = [];
    let pending: Removal[] = [];

    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      if (options.dryRun) progress.updated += batch.length;
      else {
        const replaced = await this.apply(projectId, collection, property, batch);
        progress.updated += replaced.size;
        for (const r of batch) if (!replaced.has(r.event.id)) retry.push(r.event.id);
      }
      options.onProgress?.({ ...progress, skipped: retry.length });
    };
    const consider = async (page: StoredEvent[]) => {
      for (const event of page) {
        const removal = withoutProperty(event.event, path);
        if (!removal) continue;
        pending.push({ event, ...removal });
        if (pending.length >= batchSize) await flush();
      }
    };

    // The scan continues by key (time, id), which a rewrite never changes.
    for await (const page of this.events.scan({ projectId, collection }, options.signal)) {
      progress.scanned += page.length;
      await consider(page);
    }
    await flush();

    for (const delay of options.retryDelaysMs ?? [50, 250, 1000]) {
      if (retry.length === 0) break;
      await sleep(delay, undefined, { signal: options.signal });
      const ids = retry;
      retry = [];
      for (let i = 0; i < ids.length; i += batchSize) {
        const request = { projectId, collection, ids: ids.slice(i, i + batchSize) };
        for await (const page of this.events.scan(request, options.signal)) await consider(page);
      }
      await flush();
    }
    progress.skipped = retry.length;
    return progress;
  }

  /** One unit of work: the rewrites and the decrements for exactly the events rewritten. */
  private apply(
    projectId: string,
    collection: string,
    property: string,
    batch: Removal[],
  ): Promise<Set<string>> {
    return this.unitOfWork.run(async () => {
      const { held, markers } = await this.pendingWrites.split(
        projectId,
        collection,
        batch.map((r) => r.event.id),
      );
      const wait = new Set(held);
      const settled = wait.size === 0 ? batch : batch.filter((r) => !wait.has(r.event.id));
      const replacements: BodyReplacement[] = settled.map((r) => {
        const marker = markers.get(r.event.id);
        return {
          id: r.event.id,
          expected: r.event.event,
          body: r.body,
          ...(marker === undefined ? {} : { marker }),
        };
      });
      const replaced = new Set(
        await this.events.replaceBodies(projectId, collection, replacements),
      );
      const done = batch.filter((r) => replaced.has(r.event.id));
      const removed = done.map((r) => r.removed);
      if (removed.length > 0) {
        await this.metadata.applySchemaDeltas(
          projectId,
          removalDeltas(collection, property, removed),
        );
        await this.datasets?.recordChanges(
          projectId,
          changedRanges(done.map((r) => ({ ...r.event, collection }))),
        );
      }
      return replaced;
    });
  }
}
