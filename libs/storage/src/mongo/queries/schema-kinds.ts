import { PropertyType } from '@app/schema';
import { MetadataStore } from '../../ports/metadata-store.port';
import { PropertyKinds } from './mongo-guards';

/** What the compiled path reads of the metadata store. */
export type SchemaReader = Pick<MetadataStore, 'getSchema' | 'getSchemaCap'>;

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
