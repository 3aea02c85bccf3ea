import { CollectionEvent, EventBatch } from '@app/events';
import { DEFAULT_MAX_PROPERTIES, admitDeltas, pathsToLookUp, schemaDeltas } from '@app/schema';
import {
  EventStore,
  CappedCollection,
  MetadataStore,
  UnitOfWork,
  EventPersister,
  PersistOutcome,
  SchemaCappedListener,
  DatasetStore,
} from '@app/storage';
import { changedRanges } from '../datasets/changed-ranges';

/**
 * The write use case on a store with transactions: the insert and the counter
 * update of a write run in one unit of work, so they commit together. Counters
 * are kept for at most `maxProperties` distinct paths per collection (the cap,
 * see docs/operations.md); events are stored in full either way.
 */
export class UnitOfWorkEventPersister implements EventPersister {
  private readonly cappedListeners: SchemaCappedListener[] = [];

  constructor(
    private readonly events: EventStore,
    private readonly metadata: MetadataStore,
    private readonly unitOfWork: UnitOfWork,
    private readonly maxProperties = DEFAULT_MAX_PROPERTIES,
    /** Where the inserted events' time ranges go, in the same unit of work, for cached datasets. */
    private readonly datasets?: Pick<DatasetStore, 'recordChanges'>,
  ) {}

  onSchemaCapped(listener: SchemaCappedListener): void {
    this.cappedListeners.push(listener);
  }

  async persist(projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome> {
    const capped: CappedCollection[] = [];
    const outcome = await this.unitOfWork.run(() => this.write(projectId, batch, capped));
    this.notifyCapped(capped);
    return outcome;
  }

  /**
   * Several queued batches in one unit of work (one transaction on SQLite).
   * A project's batches are written as one: under single-event load each
   * batch is one event, and the schema-cap lookup and counter upserts per
   * batch were most of the writer's time; merged, they run once per
   * collection per group. Order within the project is kept, so a retried
   * event later in the group is still the duplicate.
   */
  async persistAll(batches: EventBatch[]): Promise<PersistOutcome> {
    const capped: CappedCollection[] = [];
    const byProject = new Map<string, CollectionEvent[]>();
    for (const batch of batches) {
      const events = byProject.get(batch.projectId);
      if (events) events.push(...batch.events);
      else byProject.set(batch.projectId, [...batch.events]);
    }
    const outcome = await this.unitOfWork.run(async () => {
      const total: PersistOutcome = { inserted: 0, duplicates: 0 };
      for (const [projectId, events] of byProject) {
        const outcome = await this.write(projectId, events, capped);
        total.inserted += outcome.inserted;
        total.duplicates += outcome.duplicates;
      }
      return total;
    });
    this.notifyCapped(capped);
    return outcome;
  }

  private notifyCapped(capped: CappedCollection[]): void {
    for (const { projectId, collection } of capped) {
      for (const listener of this.cappedListeners) listener(projectId, collection);
    }
  }

  private async write(
    projectId: string,
    batch: CollectionEvent[],
    capped: CappedCollection[],
  ): Promise<PersistOutcome> {
    const { inserted, duplicates } = await this.events.insert(projectId, batch);
    if (this.datasets && inserted.length > 0) {
      await this.datasets.recordChanges(projectId, changedRanges(inserted));
    }
    const byCollection = new Map<string, CollectionEvent[]>();
    for (const e of inserted) {
      const list = byCollection.get(e.collection);
      if (list) list.push(e);
      else byCollection.set(e.collection, [e]);
    }
    for (const [collection, events] of byCollection) {
      const deltas = schemaDeltas(events);
      // Read and decided inside the unit of work: on SQLite no other writer
      // can admit a path between this read and the update below.
      const state = await this.metadata.getSchemaCap(projectId, collection, pathsToLookUp(deltas));
      const known = new Set(state.admitted);
      const plan = admitDeltas(
        deltas,
        { admittedCount: state.admittedCount, isAdmitted: (p) => known.has(p) },
        this.maxProperties,
      );
      const nowCapped = state.capped || plan.refused.length > 0;
      if (plan.admit.length > 0 || nowCapped !== state.capped) {
        await this.metadata.updateSchemaCap(projectId, collection, plan.admit, nowCapped);
      }
      if (plan.deltas.length > 0) await this.metadata.applySchemaDeltas(projectId, plan.deltas);
      if (nowCapped) capped.push({ projectId, collection });
    }
    return { inserted: inserted.length, duplicates: duplicates.length };
  }
}
