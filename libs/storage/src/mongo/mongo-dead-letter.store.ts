import { Collection } from 'mongodb';
import { CollectionEvent, JsonObject, parseJsonText } from '@app/events';
import { MongoConnection, MongoStoreOptions, connectionFor } from './mongo-connection';
import {
  DeadLetter,
  DeadLetterEntry,
  DeadLetterQuery,
  DeadLetterStore,
  deadLetterId,
} from '../ports/dead-letter-store.port';

interface DeadLetterDoc {
  _id: string;
  projectId: string;
  eventId: string;
  collection: string;
  timestamp: number;
  /**
   * The event as JSON text: a poison event may be exactly what MongoDB refuses
   * as a document (odd field names), but it is always a storable string.
   */
  body: string;
  /** Set when the body is over the document limit: only a prefix is kept. */
  truncated?: boolean;
  reason: string;
  batchId?: string;
  failedAt: Date;
}

const MAX_BODY_CHARS = 8 * 1024 * 1024;

export type MongoDeadLetterStoreOptions = MongoStoreOptions & { collection?: string };

export class MongoDeadLetterStore implements DeadLetterStore {
  private readonly connection: MongoConnection;
  private readonly owned: boolean;
  private readonly collectionName: string;

  constructor(options: MongoDeadLetterStoreOptions) {
    ({ connection: this.connection, owned: this.owned } = connectionFor(options));
    this.collectionName = options.collection ?? 'dead_letters';
  }

  async init(): Promise<void> {
    await (await this.letters()).createIndex({ projectId: 1, _id: 1 }, { name: 'project' });
  }

  async add(entries: DeadLetterEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const now = new Date();
    await (
      await this.letters()
    ).bulkWrite(
      entries.map((entry) => {
        const json = JSON.stringify(entry.event.event);
        const truncated = json.length > MAX_BODY_CHARS;
        const doc: DeadLetterDoc = {
          _id: deadLetterId(entry.projectId, entry.event.id),
          projectId: entry.projectId,
          eventId: entry.event.id,
          collection: entry.event.collection,
          timestamp: entry.event.timestamp,
          body: truncated ? json.slice(0, MAX_BODY_CHARS) : json,
          reason: entry.reason.slice(0, 2000),
          failedAt: now,
        };
        if (truncated) doc.truncated = true;
        if (entry.batchId !== undefined) doc.batchId = entry.batchId;
        return { replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } };
      }),
      { ordered: false },
    );
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    const filter: Record<string, unknown> = {};
    if (query.projectId !== undefined) filter.projectId = query.projectId;
    if (query.after) filter._id = { $gt: query.after };
    const docs = await (
      await this.letters()
    )
      .find(filter)
      .sort({ _id: 1 })
      .limit(query.limit ?? 100)
      .toArray();
    return docs.map(toDeadLetter);
  }

  async get(ids: string[]): Promise<DeadLetter[]> {
    if (ids.length === 0) return [];
    const docs = await (
      await this.letters()
    )
      .find({ _id: { $in: ids } })
      .sort({ _id: 1 })
      .toArray();
    return docs.map(toDeadLetter);
  }

  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await (await this.letters()).deleteMany({ _id: { $in: ids } })).deletedCount;
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }

  private async letters(): Promise<Collection<DeadLetterDoc>> {
    return (await this.connection.db()).collection<DeadLetterDoc>(this.collectionName);
  }
}

function toDeadLetter(doc: DeadLetterDoc): DeadLetter {
  // A truncated body cannot be parsed back; it is kept for diagnosis only.
  const body = doc.truncated
    ? { truncated_json: doc.body }
    : (parseJsonText(doc.body, 'A dead-lettered event body') as JsonObject);
  const event: CollectionEvent = {
    id: doc.eventId,
    collection: doc.collection,
    timestamp: doc.timestamp,
    event: body,
  };
  const letter: DeadLetter = {
    id: doc._id,
    projectId: doc.projectId,
    event,
    reason: doc.reason,
    failedAt: doc.failedAt.toISOString(),
  };
  if (doc.batchId !== undefined) letter.batchId = doc.batchId;
  return letter;
}
