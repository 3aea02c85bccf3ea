import { Collection } from 'mongodb';
import { MongoConnection, MongoStoreOptions, connectionFor } from './mongo-connection';
import { parseJsonText } from '@app/events';
import {
  DeleteJob,
  DeleteJobCheckpoint,
  DeleteJobOutcome,
  DeleteJobState,
  DeleteJobStore,
} from '../ports/delete-job.store.port';

interface JobDoc {
  _id: string;
  projectId: string;
  collection: string;
  /**
   * The selection as JSON text: filter values are arbitrary JSON, whose keys
   * (`$…`, dotted) MongoDB may refuse as field names.
   */
  selection: string;
  resolveAt: number;
  state: DeleteJobState;
  eventsScanned: number;
  eventsDeleted: number;
  createdAt: string;
  updatedAt: string;
  error?: string;
  owner?: string;
  leaseUntil: number;
  /** A property job's property path; absent on event deletes. */
  property?: string;
}

const UNFINISHED: DeleteJobState[] = ['queued', 'running'];

export type MongoDeleteJobStoreOptions = MongoStoreOptions & { collection?: string };

/**
 * Every lease decision is one single-document atomic update conditional on
 * the lease (claim: expired; later writes: still ours), which is what makes
 * "exactly one process resumes a job" hold without transactions.
 */
export class MongoDeleteJobStore implements DeleteJobStore {
  private readonly connection: MongoConnection;
  private readonly owned: boolean;
  private readonly collectionName: string;

  constructor(options: MongoDeleteJobStoreOptions) {
    ({ connection: this.connection, owned: this.owned } = connectionFor(options));
    this.collectionName = options.collection ?? 'delete_jobs';
  }

  async init(): Promise<void> {
    const jobs = await this.jobs();
    await jobs.createIndex({ state: 1, leaseUntil: 1, createdAt: 1 }, { name: 'unfinished' });
    await jobs.createIndex({ projectId: 1, _id: 1 }, { name: 'project' });
  }

  async create(job: DeleteJob): Promise<void> {
    const { id, selection, ...fields } = job;
    // Optional fields absent, not null: the driver would store an undefined as null.
    const present = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const doc = { ...present, _id: id, selection: JSON.stringify(selection) } as JobDoc;
    await (await this.jobs()).insertOne(doc);
  }

  async get(projectId: string, id: string): Promise<DeleteJob | null> {
    const doc = await (await this.jobs()).findOne({ _id: id, projectId });
    return doc ? toJob(doc) : null;
  }

  async claim(
    owner: string,
    now: number,
    leaseMs: number,
    busyProjects: string[],
  ): Promise<DeleteJob | null> {
    const doc = await (
      await this.jobs()
    ).findOneAndUpdate(
      {
        state: { $in: UNFINISHED },
        leaseUntil: { $lte: now },
        ...(busyProjects.length > 0 ? { projectId: { $nin: busyProjects } } : {}),
      },
      { $set: { owner, leaseUntil: now + leaseMs, updatedAt: new Date(now).toISOString() } },
      { sort: { createdAt: 1, _id: 1 }, returnDocument: 'after' },
    );
    return doc ? toJob(doc) : null;
  }

  async checkpoint(id: string, owner: string, checkpoint: DeleteJobCheckpoint): Promise<boolean> {
    const set: Partial<JobDoc> = {
      leaseUntil: checkpoint.leaseUntil,
      updatedAt: new Date(checkpoint.now).toISOString(),
    };
    if (checkpoint.progress) {
      set.eventsScanned = checkpoint.progress.eventsScanned;
      set.eventsDeleted = checkpoint.progress.eventsDeleted;
    }
    if (checkpoint.state) set.state = checkpoint.state;
    const result = await (
      await this.jobs()
    ).updateOne({ _id: id, owner, state: { $in: UNFINISHED } }, { $set: set });
    return result.matchedCount === 1;
  }

  async finish(id: string, owner: string, outcome: DeleteJobOutcome): Promise<boolean> {
    const set: Partial<JobDoc> = {
      state: outcome.state,
      eventsScanned: outcome.progress.eventsScanned,
      eventsDeleted: outcome.progress.eventsDeleted,
      updatedAt: new Date(outcome.now).toISOString(),
      leaseUntil: 0,
    };
    if (outcome.error !== undefined) set.error = outcome.error;
    const result = await (
      await this.jobs()
    ).updateOne(
      { _id: id, owner, state: { $in: UNFINISHED } },
      { $set: set, $unset: { owner: '' } },
    );
    return result.matchedCount === 1;
  }

  async release(id: string, owner: string, now: number): Promise<void> {
    await (
      await this.jobs()
    ).updateOne(
      { _id: id, owner },
      { $set: { leaseUntil: 0, updatedAt: new Date(now).toISOString() }, $unset: { owner: '' } },
    );
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }

  private async jobs(): Promise<Collection<JobDoc>> {
    return (await this.connection.db()).collection<JobDoc>(this.collectionName);
  }
}

function toJob(doc: JobDoc): DeleteJob {
  const { _id, selection, ...fields } = doc;
  return {
    ...fields,
    id: _id,
    selection: parseJsonText(selection, 'A stored delete selection') as DeleteJob['selection'],
  };
}
