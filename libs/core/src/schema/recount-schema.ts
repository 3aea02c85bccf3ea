import { TallyError } from '@app/events';
import { DEFAULT_MAX_PROPERTIES, SchemaDelta, SchemaRecount } from '@app/schema';
import { EventStore, MetadataStore, UnitOfWork } from '@app/storage';

/**
 * An exact recount of one collection's schema counters from its events.
 * Allowed only up to `maxEvents`: above it the collection is refused before
 * a single event is read (a full scan of a large collection on a shared store
 * is exactly what the counters exist to avoid).
 *
 * The property cap applies as on writes (`stores.maxProperties`, default
 * 1000): paths already admitted are recounted, free slots are filled in
 * first-seen order by (keen.timestamp, keen.id), paths beyond stay out, and
 * the capped flag is set to whether any event has such a path (SchemaRecount).
 */
export async function recountSchema(
  stores: {
    events: EventStore;
    metadata: MetadataStore;
    unitOfWork: UnitOfWork;
    maxProperties?: number;
  },
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
    const cap = await stores.metadata.getSchemaCap(projectId, collection);
    const counting = new SchemaRecount(
      collection,
      cap.admitted,
      stores.maxProperties ?? DEFAULT_MAX_PROPERTIES,
    );
    let events = 0;
    for await (const page of stores.events.scan({ projectId, collection })) {
      events += page.length;
      for (const event of page) counting.add(event);
    }
    const result = counting.result();
    // The whole set is written back, so paths counted before the cap existed
    // are recorded as admitted too; admitting comes before the corrections
    // so that they apply to admitted paths.
    await stores.metadata.updateSchemaCap(
      projectId,
      collection,
      [...cap.admitted, ...result.admit],
      result.capped,
    );
    const recount = new Map<string, SchemaDelta>(
      result.counters.map((d) => [`${d.path}\u0000${d.type}`, d]),
    );
    // Turn "what it should be" into deltas from "what it is".
    const corrections: SchemaDelta[] = [];
    for (const c of await stores.metadata.getSchema(projectId, collection)) {
      const key = `${c.path}\u0000${c.type}`;
      const want = recount.get(key)?.delta ?? 0;
      recount.delete(key);
      if (want !== c.count)
        corrections.push({ collection, path: c.path, type: c.type, delta: want - c.count });
    }
    corrections.push(...recount.values());
    if (corrections.length > 0) await stores.metadata.applySchemaDeltas(projectId, corrections);
    return { events, corrected: corrections.length };
  });
}
