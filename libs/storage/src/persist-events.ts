import { CollectionEvent, EventBatch } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { EventStore } from './event-store.port';
import { MetadataStore, UnitOfWork } from './metadata-store.port';

export interface PersistOutcome {
  inserted: number;
  duplicates: number;
}

/**
 * The one write use case, shared by the standalone inline queue and the worker:
 * store events idempotently, then add schema counters for the events that were
 * actually new, so a redelivered batch adds nothing twice.
 */
export class EventPersister {
  constructor(
    private readonly events: EventStore,
    private readonly metadata: MetadataStore,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  async persist(projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome> {
    return this.unitOfWork.run(() => this.write(projectId, batch));
  }

  /** Several queued batches in one unit of work (one transaction on SQLite). */
  async persistAll(batches: EventBatch[]): Promise<PersistOutcome> {
    return this.unitOfWork.run(async () => {
      const total: PersistOutcome = { inserted: 0, duplicates: 0 };
      for (const batch of batches) {
        const outcome = await this.write(batch.projectId, batch.events);
        total.inserted += outcome.inserted;
        total.duplicates += outcome.duplicates;
      }
      return total;
    });
  }

  private async write(projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome> {
    const { inserted, duplicates } = await this.events.insert(projectId, batch);
    if (inserted.length > 0) {
      await this.metadata.applySchemaDeltas(projectId, schemaDeltas(inserted));
    }
    return { inserted: inserted.length, duplicates: duplicates.length };
  }
}
