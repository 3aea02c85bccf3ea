import { SqliteDatabase } from './sqlite-database';
import { parseJsonText } from '@app/events';
import {
  DeleteJob,
  DeleteJobCheckpoint,
  DeleteJobOutcome,
  DeleteJobState,
  DeleteJobStore,
} from '../ports/delete-job.store.port';

/**
 * Kept beside the events in the same file, so a job's checkpoint commits in
 * the same transaction as the batch it counts. Created with IF NOT EXISTS
 * rather than as a versioned migration: it is the jobs' own table, and an
 * older binary opening the file simply ignores it.
 */
const CREATE = `
  CREATE TABLE IF NOT EXISTS delete_jobs (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    collection TEXT NOT NULL,
    selection TEXT NOT NULL,
    resolve_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    events_scanned INTEGER NOT NULL DEFAULT 0,
    events_deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT,
    owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    property TEXT
  );
  CREATE INDEX IF NOT EXISTS delete_jobs_unfinished ON delete_jobs (state, lease_until, created_at);
`;

/** Files created before property jobs existed: the column is added (NULL: an event delete). */
function addPropertyColumn(db: SqliteDatabase): void {
  const columns = db.writer.prepare('PRAGMA table_info(delete_jobs)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'property')) {
    db.writer.exec('ALTER TABLE delete_jobs ADD COLUMN property TEXT');
  }
}

interface JobRow {
  id: string;
  project: string;
  collection: string;
  selection: string;
  resolve_at: number;
  state: DeleteJobState;
  events_scanned: number;
  events_deleted: number;
  created_at: string;
  updated_at: string;
  error: string | null;
  owner: string | null;
  lease_until: number;
  property: string | null;
}

const UNFINISHED = `state IN ('queued', 'running')`;

export class SqliteDeleteJobStore implements DeleteJobStore {
  constructor(private readonly db: SqliteDatabase) {
    db.writer.exec(CREATE);
    addPropertyColumn(db);
  }

  async create(job: DeleteJob): Promise<void> {
    await this.write(() => {
      this.db.writer
        .prepare(
          `INSERT INTO delete_jobs (id, project, collection, selection, resolve_at, state, events_scanned,
             events_deleted, created_at, updated_at, error, owner, lease_until, property)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          job.id,
          job.projectId,
          job.collection,
          JSON.stringify(job.selection),
          job.resolveAt,
          job.state,
          job.eventsScanned,
          job.eventsDeleted,
          job.createdAt,
          job.updatedAt,
          job.error ?? null,
          job.owner ?? null,
          job.leaseUntil,
          job.property ?? null,
        );
    });
  }

  async get(projectId: string, id: string): Promise<DeleteJob | null> {
    const row = this.db.reader
      .prepare('SELECT * FROM delete_jobs WHERE project = ? AND id = ?')
      .get(projectId, id) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  async claim(
    owner: string,
    now: number,
    leaseMs: number,
    busyProjects: string[],
  ): Promise<DeleteJob | null> {
    // One write transaction (BEGIN IMMEDIATE holds the file's write lock), so
    // the select and the update are one step for every connection.
    return this.write(() => {
      const skip =
        busyProjects.length > 0
          ? ` AND project NOT IN (${busyProjects.map(() => '?').join(',')})`
          : '';
      const row = this.db.writer
        .prepare(
          `SELECT * FROM delete_jobs WHERE ${UNFINISHED} AND lease_until <= ?${skip} ORDER BY created_at, id LIMIT 1`,
        )
        .get(now, ...busyProjects) as JobRow | undefined;
      if (!row) return null;
      const updatedAt = new Date(now).toISOString();
      this.db.writer
        .prepare('UPDATE delete_jobs SET owner = ?, lease_until = ?, updated_at = ? WHERE id = ?')
        .run(owner, now + leaseMs, updatedAt, row.id);
      return toJob({ ...row, owner, lease_until: now + leaseMs, updated_at: updatedAt });
    });
  }

  async checkpoint(id: string, owner: string, checkpoint: DeleteJobCheckpoint): Promise<boolean> {
    const { progress, state } = checkpoint;
    return this.write(
      () =>
        this.db.writer
          .prepare(
            `UPDATE delete_jobs SET lease_until = ?, updated_at = ?,
               events_scanned = COALESCE(?, events_scanned), events_deleted = COALESCE(?, events_deleted),
               state = COALESCE(?, state)
             WHERE id = ? AND owner = ? AND ${UNFINISHED}`,
          )
          .run(
            checkpoint.leaseUntil,
            new Date(checkpoint.now).toISOString(),
            progress?.eventsScanned ?? null,
            progress?.eventsDeleted ?? null,
            state ?? null,
            id,
            owner,
          ).changes === 1,
    );
  }

  async finish(id: string, owner: string, outcome: DeleteJobOutcome): Promise<boolean> {
    return this.write(
      () =>
        this.db.writer
          .prepare(
            `UPDATE delete_jobs SET state = ?, events_scanned = ?, events_deleted = ?, error = ?, updated_at = ?,
               owner = NULL, lease_until = 0
             WHERE id = ? AND owner = ? AND ${UNFINISHED}`,
          )
          .run(
            outcome.state,
            outcome.progress.eventsScanned,
            outcome.progress.eventsDeleted,
            outcome.error ?? null,
            new Date(outcome.now).toISOString(),
            id,
            owner,
          ).changes === 1,
    );
  }

  async release(id: string, owner: string, now: number): Promise<void> {
    await this.write(() => {
      this.db.writer
        .prepare(
          `UPDATE delete_jobs SET owner = NULL, lease_until = 0, updated_at = ? WHERE id = ? AND owner = ?`,
        )
        .run(new Date(now).toISOString(), id, owner);
    });
  }

  /**
   * Inside a caller's unit of work (a delete batch) the statement joins its
   * transaction; otherwise it runs in a BEGIN IMMEDIATE transaction of its own
   * (as the event store's writes do): nothing else in the process can
   * interleave with it, and other connections wait on the file's write lock.
   */
  private write<T>(work: () => T): Promise<T> {
    return this.db.write(work);
  }
}

function toJob(row: JobRow): DeleteJob {
  const job: DeleteJob = {
    id: row.id,
    projectId: row.project,
    collection: row.collection,
    selection: parseJsonText(row.selection, 'A stored delete selection') as DeleteJob['selection'],
    resolveAt: row.resolve_at,
    state: row.state,
    eventsScanned: row.events_scanned,
    eventsDeleted: row.events_deleted,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    leaseUntil: row.lease_until,
  };
  if (row.error !== null) job.error = row.error;
  if (row.owner !== null) job.owner = row.owner;
  if (row.property !== null) job.property = row.property;
  return job;
}
