import { AnyBulkWriteOperation, Collection, MongoServerError } from 'mongodb';
import { TallyError } from '@app/events';
import { PropertyType, SchemaCounter, SchemaDelta } from '@app/schema';
import { MetadataStore, Project, StoredKey } from '../metadata-store.port';
import { MongoConnection, MongoStoreOptions, connectionFor } from './mongo-connection';
import { SchemaDoc, counterField, decodePath, schemaDocId } from './schema-counter.keys';

interface ProjectDoc {
  _id: string;
  name: string;
  createdAt: string;
}
interface KeyDoc {
  _id: string; // key hash
  projectId: string;
  role: StoredKey['role'];
  createdAt: string;
}

/**
 * Projects, hashed keys and schema counters. Counters are one document per
 * (project, collection) so that a write's counter changes for a collection
 * are one atomic update, together with its marker (see MongoEventPersister).
 */
export class MongoMetadataStore implements MetadataStore {
  private readonly connection: MongoConnection;
  private readonly owned: boolean;

  constructor(options: MongoStoreOptions) {
    ({ connection: this.connection, owned: this.owned } = connectionFor(options));
  }

  async init(): Promise<void> {
    await (await this.keys()).createIndex({ projectId: 1 }, { name: 'project' });
    await (await this.schema()).createIndex({ p: 1, c: 1 }, { name: 'project_collection' });
  }

  async createProject(project: Project, keys: StoredKey[]): Promise<void> {
    try {
      await (await this.projects()).insertOne({ _id: project.id, name: project.name, createdAt: project.createdAt });
    } catch (error) {
      if (error instanceof MongoServerError && error.code === 11000) {
        throw new TallyError('conflict', 'ProjectExistsError', `project ${project.id} already exists`);
      }
      throw error;
    }
    if (keys.length > 0) {
      await (await this.keys()).insertMany(
        keys.map((k) => ({ _id: k.keyHash, projectId: k.projectId, role: k.role, createdAt: k.createdAt })),
      );
    }
  }

  async getProject(projectId: string): Promise<Project | null> {
    const doc = await (await this.projects()).findOne({ _id: projectId });
    return doc ? { id: doc._id, name: doc.name, createdAt: doc.createdAt } : null;
  }

  async listProjects(): Promise<Project[]> {
    const docs = await (await this.projects()).find().sort({ _id: 1 }).toArray();
    return docs.map((d) => ({ id: d._id, name: d.name, createdAt: d.createdAt }));
  }

  async listKeys(): Promise<StoredKey[]> {
    const docs = await (await this.keys()).find().toArray();
    return docs.map((d) => ({ projectId: d.projectId, keyHash: d._id, role: d.role, createdAt: d.createdAt }));
  }

  /**
   * Plain $inc upserts, one per collection document, in one bulkWrite; then
   * counters that reached 0 are removed. Used for deletes' decrements; the
   * worker's writes go through applyMarked() to stay exact under redelivery.
   */
  async applySchemaDeltas(projectId: string, deltas: SchemaDelta[]): Promise<void> {
    const byCollection = groupByCollection(deltas);
    if (byCollection.size === 0) return;
    const ops: AnyBulkWriteOperation<SchemaDoc>[] = [...byCollection].map(([collection, inc]) => ({
      updateOne: {
        filter: { _id: schemaDocId(projectId, collection) },
        update: { $setOnInsert: { p: projectId, c: collection }, $inc: inc },
        upsert: true,
      },
    }));
    await (await this.schema()).bulkWrite(ops, { ordered: false });
    await this.removeZeros(projectId, [...byCollection].filter(([, inc]) => Object.values(inc).some((d) => d < 0)).map(([c]) => c));
  }

  /** Registers a write marker on each collection document before the events are inserted. */
  async registerMarker(projectId: string, collections: string[], marker: string, at = new Date()): Promise<void> {
    if (collections.length === 0) return;
    await (await this.schema()).bulkWrite(
      collections.map((collection) => ({
        updateOne: {
          filter: { _id: schemaDocId(projectId, collection) },
          update: { $setOnInsert: { p: projectId, c: collection }, $push: { pending: { a: marker, at } } },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  /**
   * Adds the deltas of one collection and removes the marker in ONE atomic
   * update that only matches while the marker is still pending: applying the
   * same marker twice adds nothing the second time. Returns whether it applied.
   */
  async applyMarked(projectId: string, collection: string, marker: string, deltas: SchemaDelta[]): Promise<boolean> {
    const inc = groupByCollection(deltas).get(collection) ?? {};
    const update: Record<string, unknown> = { $pull: { pending: { a: marker } } };
    if (Object.keys(inc).length > 0) update.$inc = inc;
    const result = await (await this.schema()).updateOne({ _id: schemaDocId(projectId, collection), 'pending.a': marker }, update);
    return result.modifiedCount === 1;
  }

  /** Collections on which a marker is still pending, with its registration time. */
  async collectionsPending(projectId: string, marker: string): Promise<{ collection: string; at: Date }[]> {
    const docs = await (await this.schema()).find({ p: projectId, 'pending.a': marker }, { projection: { c: 1, pending: 1 } }).toArray();
    return docs.map((d) => ({ collection: d.c, at: new Date(d.pending!.find((p) => p.a === marker)!.at) }));
  }

  async getSchema(projectId: string, collection?: string): Promise<SchemaCounter[]> {
    const filter = collection === undefined ? { p: projectId } : { _id: schemaDocId(projectId, collection) };
    const docs = await (await this.schema()).find(filter, { projection: { pending: 0 } }).toArray();
    const out: SchemaCounter[] = [];
    for (const doc of docs) {
      for (const [key, types] of Object.entries(doc.counts ?? {})) {
        for (const [type, count] of Object.entries(types ?? {})) {
          if (typeof count === 'number' && count !== 0) out.push({ collection: doc.c, path: decodePath(key), type: type as PropertyType, count });
        }
      }
    }
    return out.sort((a, b) => a.collection.localeCompare(b.collection) || a.path.localeCompare(b.path) || a.type.localeCompare(b.type));
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }

  /**
   * A counter at 0 is unset with an update conditioned on it still being 0, so
   * a concurrent increment is never lost.
   */
  private async removeZeros(projectId: string, collections: string[]): Promise<void> {
    const schema = await this.schema();
    for (const collection of collections) {
      const _id = schemaDocId(projectId, collection);
      const doc = await schema.findOne({ _id }, { projection: { counts: 1 } });
      for (const [key, types] of Object.entries(doc?.counts ?? {})) {
        for (const [type, count] of Object.entries(types ?? {})) {
          if (count !== 0) continue;
          const field = `counts.${key}.${type}`;
          await schema.updateOne({ _id, [field]: 0 }, { $unset: { [field]: '' } });
        }
      }
    }
  }

  private async projects(): Promise<Collection<ProjectDoc>> {
    return (await this.connection.db()).collection<ProjectDoc>('projects');
  }
  private async keys(): Promise<Collection<KeyDoc>> {
    return (await this.connection.db()).collection<KeyDoc>('keys');
  }
  private async schema(): Promise<Collection<SchemaDoc>> {
    return (await this.connection.db()).collection<SchemaDoc>('schema_counters');
  }
}

function groupByCollection(deltas: SchemaDelta[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const d of deltas) {
    if (d.delta === 0) continue;
    let inc = out.get(d.collection);
    if (!inc) out.set(d.collection, (inc = {}));
    const field = counterField(d.path, d.type);
    inc[field] = (inc[field] ?? 0) + d.delta;
  }
  return out;
}
