import { Collection, MongoServerError } from 'mongodb';
import { parseJsonText, TallyError } from '@app/events';
import { SchemaCounter, SchemaDelta } from '@app/schema';
import {
  CappedCollection,
  KeyAccess,
  KeyChanges,
  MetadataStore,
  Project,
  ProjectRetention,
  SchemaCapState,
  StoredKey,
} from '../ports/metadata-store.port';
import { PendingEntry } from '../ports/counter-ledger.port';
import { SingleFlightProbe } from '../ports/readiness.port';
import { MongoConnection, MongoStoreOptions, connectionFor } from './mongo-connection';
import { MongoSchemaCounters } from './mongo-schema-counters';

interface ProjectDoc {
  _id: string;
  name: string;
  createdAt: string;
}
/** One per project with a retention (the retention sweep reads them all). */
interface RetentionDoc {
  _id: string; // project id
  days: number;
  updatedAt: string;
}
interface KeyDoc {
  _id: string; // key hash
  projectId: string;
  role: StoredKey['role'];
  createdAt: string;
  name?: string;
  active?: boolean;
  /**
   * An access key's KeyAccess as JSON text: its options hold names a client
   * chose, which as document fields could start with `$` or hold dots.
   */
  access?: string;
}

function keyDoc(k: StoredKey): KeyDoc {
  const doc: KeyDoc = {
    _id: k.keyHash,
    projectId: k.projectId,
    role: k.role,
    createdAt: k.createdAt,
  };
  if (k.name !== undefined) doc.name = k.name;
  if (k.active === false) doc.active = false;
  if (k.access) doc.access = JSON.stringify(k.access);
  return doc;
}

function storedKey(d: KeyDoc): StoredKey {
  const key: StoredKey = {
    projectId: d.projectId,
    keyHash: d._id,
    role: d.role,
    createdAt: d.createdAt,
  };
  if (d.name !== undefined) key.name = d.name;
  if (d.active === false) key.active = false;
  if (d.access !== undefined)
    key.access = parseJsonText(d.access, 'A stored key') as unknown as KeyAccess;
  return key;
}

/**
 * The MetadataStore port on MongoDB: projects and hashed keys here; schema
 * counters, the property cap and write markers in MongoSchemaCounters, which
 * this store hands them to.
 */
export class MongoMetadataStore implements MetadataStore {
  private readonly connection: MongoConnection;
  private readonly owned: boolean;
  readonly counters: MongoSchemaCounters;
  private readonly probe = new SingleFlightProbe('the MongoDB metadata store', async () =>
    (await this.projects()).findOne({ _id: '' }, { projection: { _id: 1 } }),
  );

  constructor(options: MongoStoreOptions) {
    ({ connection: this.connection, owned: this.owned } = connectionFor(options));
    this.counters = new MongoSchemaCounters(this.connection);
  }

  async init(): Promise<void> {
    await (await this.keys()).createIndex({ projectId: 1 }, { name: 'project' });
    await this.counters.init();
  }

  async createProject(project: Project, keys: StoredKey[]): Promise<void> {
    try {
      await (
        await this.projects()
      ).insertOne({ _id: project.id, name: project.name, createdAt: project.createdAt });
    } catch (error) {
      if (error instanceof MongoServerError && error.code === 11000) {
        throw new TallyError(
          'conflict',
          'ProjectExistsError',
          `project ${project.id} already exists`,
        );
      }
      throw error;
    }
    if (keys.length > 0) {
      await (await this.keys()).insertMany(keys.map(keyDoc));
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
    return docs.map(storedKey);
  }

  async addKey(key: StoredKey): Promise<void> {
    try {
      await (await this.keys()).insertOne(keyDoc(key));
    } catch (error) {
      if (error instanceof MongoServerError && error.code === 11000) {
        throw new TallyError(
          'conflict',
          'KeyExistsError',
          'A key with this hash is already stored.',
        );
      }
      throw error;
    }
  }

  async revokeKey(projectId: string, keyHash: string): Promise<boolean> {
    const result = await (await this.keys()).deleteOne({ _id: keyHash, projectId });
    return result.deletedCount === 1;
  }

  async updateKey(
    projectId: string,
    keyHash: string,
    changes: KeyChanges,
  ): Promise<StoredKey | null> {
    const set: Partial<KeyDoc> = {};
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.active !== undefined) set.active = changes.active;
    if (changes.access !== undefined) set.access = JSON.stringify(changes.access);
    const keys = await this.keys();
    if (Object.keys(set).length > 0)
      await keys.updateOne({ _id: keyHash, projectId }, { $set: set });
    // Read back by _id alone (the index the test server uses), then checked.
    const doc = await keys.findOne({ _id: keyHash });
    return doc && doc.projectId === projectId ? storedKey(doc) : null;
  }

  applySchemaDeltas(projectId: string, deltas: SchemaDelta[]): Promise<void> {
    return this.counters.applySchemaDeltas(projectId, deltas);
  }

  registerMarker(
    projectId: string,
    collections: string[],
    marker: string,
    at?: Date,
  ): Promise<void> {
    return this.counters.registerMarker(projectId, collections, marker, at);
  }

  applyMarked(
    projectId: string,
    collection: string,
    marker: string,
    deltas: SchemaDelta[],
    maxProperties?: number,
  ): Promise<boolean> {
    return this.counters.applyMarked(projectId, collection, marker, deltas, maxProperties);
  }

  collectionsPending(
    projectId: string,
    marker: string,
  ): Promise<{ collection: string; at: Date }[]> {
    return this.counters.collectionsPending(projectId, marker);
  }

  markersPendingOn(projectId: string, collection: string): Promise<Set<string>> {
    return this.counters.markersPendingOn(projectId, collection);
  }

  listPending(before: Date, limit: number): Promise<PendingEntry[]> {
    return this.counters.listPending(before, limit);
  }

  countPending(): Promise<number> {
    return this.counters.countPending();
  }

  getSchema(projectId: string, collection?: string): Promise<SchemaCounter[]> {
    return this.counters.getSchema(projectId, collection);
  }

  getSchemaCap(projectId: string, collection: string, paths?: string[]): Promise<SchemaCapState> {
    return this.counters.getSchemaCap(projectId, collection, paths);
  }

  updateSchemaCap(
    projectId: string,
    collection: string,
    admit: string[],
    capped: boolean,
  ): Promise<void> {
    return this.counters.updateSchemaCap(projectId, collection, admit, capped);
  }

  listCappedCollections(projectId?: string): Promise<CappedCollection[]> {
    return this.counters.listCappedCollections(projectId);
  }

  /** A point read on `_id`, bounded by the timeout (a hung server never answers it). */
  ping(timeoutMs: number): Promise<void> {
    return this.probe.ping(timeoutMs);
  }

  async getRetention(projectId: string): Promise<number | null> {
    const doc = await (await this.retention()).findOne({ _id: projectId });
    return doc ? doc.days : null;
  }

  async setRetention(projectId: string, days: number | null): Promise<void> {
    const retention = await this.retention();
    if (days === null) await retention.deleteOne({ _id: projectId });
    else
      await retention.updateOne(
        { _id: projectId },
        { $set: { days, updatedAt: new Date().toISOString() } },
        { upsert: true },
      );
  }

  async listRetentions(): Promise<ProjectRetention[]> {
    const docs = await (await this.retention()).find({}).sort({ _id: 1 }).toArray();
    return docs.map((d) => ({ projectId: d._id, days: d.days }));
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }

  private async projects(): Promise<Collection<ProjectDoc>> {
    return (await this.connection.db()).collection<ProjectDoc>('projects');
  }
  private async keys(): Promise<Collection<KeyDoc>> {
    return (await this.connection.db()).collection<KeyDoc>('keys');
  }
  private async retention(): Promise<Collection<RetentionDoc>> {
    return (await this.connection.db()).collection<RetentionDoc>('retention');
  }
}
