import { Collection } from 'mongodb';
import { JsonObject, parseJsonText } from '@app/events';
import { MongoConnection, MongoStoreOptions, connectionFor } from './mongo-connection';
import {
  CachedQueryResult,
  SavedQueryDefinition,
  SavedQueryPutOptions,
  SavedQueryPutOutcome,
  SavedQueryRecord,
  SavedQueryStore,
} from '../ports/saved-query-store.port';

interface SavedQueryDoc {
  /** idPrefix(project) + name: every read and write of one query is by `_id` alone. */
  _id: string;
  projectId: string;
  name: string;
  /**
   * The query, its metadata and the cached answer as JSON text: clients choose
   * their keys, which may start with `$` or contain dots (MongoDB field-name
   * rules), and the answer holds group_by values as keys.
   */
  query: string;
  metadata: string;
  refreshRate: number;
  createdAt: string;
  updatedAt: string;
  version: string;
  result?: string;
  resultVersion?: string;
  computedAt?: number;
  /** Absent on a plain saved query, so a `$lte` on it never matches one. */
  dueAt?: number;
  leaseOwner?: string;
  leaseUntil: number;
}

/**
 * A project's ids share a prefix that no other project's can start with (the
 * id's length leads), and names are ASCII letters, digits, `_`, `-` and `.`
 * (checked by the use case), all below `\u007f`: `[prefix, prefix + '\u007f')`
 * is exactly the project's queries, by `_id` alone.
 */
function idPrefix(projectId: string): string {
  return `${projectId.length}:${projectId}/`;
}
const idOf = (projectId: string, name: string) => idPrefix(projectId) + name;

export type MongoSavedQueryStoreOptions = MongoStoreOptions & { collection?: string };

/**
 * Every lease decision is one single-document atomic update conditional on
 * the lease (claim: due and free or expired; save and release: still ours),
 * which is what makes "one process computes a query at a time" hold without
 * transactions.
 */
export class MongoSavedQueryStore implements SavedQueryStore {
  private readonly connection: MongoConnection;
  private readonly owned: boolean;
  private readonly collectionName: string;

  constructor(options: MongoSavedQueryStoreOptions) {
    ({ connection: this.connection, owned: this.owned } = connectionFor(options));
    this.collectionName = options.collection ?? 'saved_queries';
  }

  async init(): Promise<void> {
    await (await this.queries()).createIndex({ dueAt: 1, leaseUntil: 1 }, { name: 'due' });
  }

  async put(
    definition: SavedQueryDefinition,
    options: SavedQueryPutOptions,
  ): Promise<SavedQueryPutOutcome> {
    const queries = await this.queries();
    const _id = idOf(definition.projectId, definition.name);
    const existing = await queries.findOne({ _id }, { projection: { _id: 1 } });
    // Two creates racing past the count can exceed the cap by one each; the
    // cap bounds a project's share of the collection, not an exact quota.
    if (!existing && (await this.countOf(definition.projectId)) >= options.maxPerProject) {
      return 'over_limit';
    }
    const set: Partial<SavedQueryDoc> = {
      projectId: definition.projectId,
      name: definition.name,
      query: JSON.stringify(definition.query),
      metadata: JSON.stringify(definition.metadata),
      refreshRate: definition.refreshRate,
      updatedAt: definition.updatedAt,
      version: definition.version,
      leaseUntil: 0,
    };
    const unset: Record<string, ''> = {
      result: '',
      resultVersion: '',
      computedAt: '',
      leaseOwner: '',
    };
    if (options.dueAt === null) unset.dueAt = '';
    else set.dueAt = options.dueAt;
    const before = await queries.findOneAndUpdate(
      { _id },
      { $set: set, $unset: unset, $setOnInsert: { createdAt: definition.createdAt } },
      { upsert: true, returnDocument: 'before' },
    );
    return before ? 'replaced' : 'created';
  }

  async get(projectId: string, name: string): Promise<SavedQueryRecord | null> {
    const doc = await (await this.queries()).findOne({ _id: idOf(projectId, name) });
    return doc ? toRecord(doc) : null;
  }

  async list(projectId: string): Promise<SavedQueryRecord[]> {
    const docs = await (
      await this.queries()
    )
      .find({ _id: this.ofProject(projectId) })
      .sort({ _id: 1 })
      .toArray();
    return docs.map(toRecord);
  }

  async delete(projectId: string, name: string): Promise<boolean> {
    const result = await (await this.queries()).deleteOne({ _id: idOf(projectId, name) });
    return result.deletedCount === 1;
  }

  async requestRefresh(projectId: string, name: string, at: number): Promise<boolean> {
    const result = await (
      await this.queries()
    ).updateOne({ _id: idOf(projectId, name), refreshRate: { $gt: 0 } }, { $set: { dueAt: at } });
    return result.matchedCount === 1;
  }

  async claimDue(owner: string, now: number, leaseMs: number): Promise<SavedQueryRecord | null> {
    const doc = await (
      await this.queries()
    ).findOneAndUpdate(
      { dueAt: { $lte: now }, leaseUntil: { $lte: now } },
      { $set: { leaseOwner: owner, leaseUntil: now + leaseMs } },
      { sort: { dueAt: 1, _id: 1 }, returnDocument: 'after' },
    );
    return doc ? toRecord(doc) : null;
  }

  async saveResult(
    projectId: string,
    name: string,
    owner: string,
    result: CachedQueryResult,
    claimedAt: number,
    nextDueAt: number,
  ): Promise<boolean> {
    const queries = await this.queries();
    const _id = idOf(projectId, name);
    const stored = {
      result: JSON.stringify(result.response),
      resultVersion: result.version,
      computedAt: result.computedAt,
      leaseUntil: 0,
    };
    const ours = { _id, leaseOwner: owner, version: result.version };
    // A refresh requested while we computed (dueAt moved past our claim) keeps its time.
    const requested = await queries.updateOne(
      { ...ours, dueAt: { $gt: claimedAt } },
      { $set: stored, $unset: { leaseOwner: '' } },
    );
    if (requested.matchedCount === 1) return true;
    const saved = await queries.updateOne(ours, {
      $set: { ...stored, dueAt: nextDueAt },
      $unset: { leaseOwner: '' },
    });
    return saved.matchedCount === 1;
  }

  async release(projectId: string, name: string, owner: string, retryAt: number): Promise<void> {
    await (
      await this.queries()
    ).updateOne(
      { _id: idOf(projectId, name), leaseOwner: owner, refreshRate: { $gt: 0 } },
      { $set: { leaseUntil: 0, dueAt: retryAt }, $unset: { leaseOwner: '' } },
    );
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }

  private ofProject(projectId: string) {
    const prefix = idPrefix(projectId);
    return { $gte: prefix, $lt: `${prefix}\u007f` };
  }

  private async countOf(projectId: string): Promise<number> {
    return (await this.queries()).countDocuments({ _id: this.ofProject(projectId) });
  }

  private async queries(): Promise<Collection<SavedQueryDoc>> {
    return (await this.connection.db()).collection<SavedQueryDoc>(this.collectionName);
  }
}

function toRecord(doc: SavedQueryDoc): SavedQueryRecord {
  const current =
    doc.result !== undefined && doc.resultVersion === doc.version && doc.computedAt !== undefined;
  return {
    projectId: doc.projectId,
    name: doc.name,
    query: parseJsonText(doc.query, 'A stored saved query') as JsonObject,
    metadata: parseJsonText(doc.metadata, "A stored saved query's metadata") as JsonObject,
    refreshRate: doc.refreshRate,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    version: doc.version,
    cached: current
      ? {
          version: doc.resultVersion!,
          response: parseJsonText(doc.result!, 'A stored query result') as JsonObject,
          computedAt: doc.computedAt!,
        }
      : null,
    dueAt: doc.dueAt ?? null,
    leaseUntil: doc.leaseUntil,
    leaseOwner: doc.leaseOwner ?? null,
  };
}
