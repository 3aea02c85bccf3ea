import { TallyError } from '@app/events';
import { schemaDeltas, SchemaDelta } from '@app/schema';
import { EventStore } from './event-store.port';
import { MetadataStore, UnitOfWork } from './metadata-store.port';

/**
 * An exact recount of one collection's schema counters from its events.
 * Allowed only up to `maxEvents`: above it the collection is refused before
 * a single event is read (a full scan of a large collection on a shared store
 * is exactly what the counters exist to avoid).
 */
export async function recountSchema(
  stores: { events: EventStore; metadata: MetadataStore; unitOfWork: UnitOfWork },
  projectId: string,
  collection: string,
  maxEvents: number,
): Promise<{ events: number; corrected: number }> {
  const size = await stores.events.countCollection(projectId, collection);
  if (size > maxEvents) {
    throw new TallyError(
      'invalid',
      'SchemaRecountTooLargeError',
      `Collection "${collection}" has ${size} events; an exact schema recount is allowed only up to ${maxEvents} ` +
        '(SCHEMA_RECOUNT_MAX_EVENTS). Its counters are maintained incrementally and need no recount.',
    );
  }
  return stores.unitOfWork.run(async () => {
    const recount = new Map<string, SchemaDelta>();
    let events = 0;
    for await (const page of stores.events.scan({ projectId, collection })) {
      events += page.length;
      for (const d of schemaDeltas(page.map((e) => ({ collection, event: e.event })))) {
        const key = `${d.path}\u0000${d.type}`;
        const found = recount.get(key);
        if (found) found.delta += d.delta;
        else recount.set(key, { ...d });
      }
    }
    // Turn "what it should be" into deltas from "what it is".
    const corrections: SchemaDelta[] = [];
    for (const c of await stores.metadata.getSchema(projectId, collection)) {
      const key = `${c.path}\u0000${c.type}`;
      const want = recount.get(key)?.delta ?? 0;
      recount.delete(key);
      if (want !== c.count) corrections.push({ collection, path: c.path, type: c.type, delta: want - c.count });
    }
    corrections.push(...recount.values());
    if (corrections.length > 0) await stores.metadata.applySchemaDeltas(projectId, corrections);
    return { events, corrected: corrections.length };
  });
}
