import { PropertyType } from '@app/schema';
import { CounterLedger } from '../../ports/counter-ledger.port';
import { MetadataStore } from '../../ports/metadata-store.port';
import { markerTime } from '../../ports/write-marker';
import { PropertyKinds, SchemaView } from './mongo-guards';

/**
 * What the compiled path reads of the metadata store: the counters and, where
 * the store keeps them, the markers pending on a collection.
 */
export type SchemaReader = Pick<MetadataStore, 'getSchema' | 'getSchemaCap'> &
  Partial<Pick<CounterLedger, 'markersPendingOn'>>;

/**
 * How far behind the query process's clock a worker's may be for its new
 * markers still to be tested in the pipeline. A worker further behind costs
 * correctness nothing: the read after the pipeline finds its marker (see
 * Guards.changed) and the engine answers instead.
 */
export const MARKER_CLOCK_MARGIN_MS = 60_000;

/**
 * The schema as the compiled path reads it (see WriteMarkers). The pending
 * markers are read first: a delivery applied between the two reads is then
 * pending in the first (its events tested in the pipeline) and counted in the
 * second.
 */
export async function schemaView(
  schema: SchemaReader,
  projectId: string,
  collection: string,
  now = Date.now(),
): Promise<SchemaView> {
  const pending = schema.markersPendingOn
    ? await schema.markersPendingOn(projectId, collection)
    : undefined;
  const kinds = await schemaKinds(schema, projectId, collection);
  if (!pending) return { kinds };
  return {
    kinds,
    markers: { pending: [...pending].sort(), since: markerTime(now - MARKER_CLOCK_MARGIN_MS) },
  };
}

/**
 * A collection's schema counters as PropertyKinds: the types each path holds
 * in settled events (a counter other than 0; a negative one, which a store
 * without transactions may show for a moment, counts as held). Without the
 * property cap every stored path is counted, so a path without counters is
 * held by no settled event; under the cap only admitted paths are, and the
 * others are unknown.
 */
export async function schemaKinds(
  schema: SchemaReader,
  projectId: string,
  collection: string,
): Promise<PropertyKinds> {
  const [counters, cap] = await Promise.all([
    schema.getSchema(projectId, collection),
    schema.getSchemaCap(projectId, collection),
  ]);
  const held = new Map<string, Set<PropertyType>>();
  for (const c of counters) {
    if (c.collection !== collection || c.count === 0) continue;
    let types = held.get(c.path);
    if (!types) held.set(c.path, (types = new Set()));
    types.add(c.type);
  }
  const admitted = cap.capped ? new Set(cap.admitted) : undefined;
  const none: ReadonlySet<PropertyType> = new Set();
  return (path) => {
    if (admitted && !admitted.has(path)) return undefined;
    return held.get(path) ?? none;
  };
}
