import { CollectionEvent } from '@app/events';

export const DEAD_LETTER_STORE = Symbol('DEAD_LETTER_STORE');

/** An event the store can never accept (its content is rejected), set aside with the reason. */
export interface DeadLetterEntry {
  projectId: string;
  event: CollectionEvent;
  reason: string;
  /** The queue batch it arrived in (diagnostics). */
  batchId?: string;
}

export interface DeadLetter extends DeadLetterEntry {
  /** `<projectId>/<keen.id>`: adding the same event twice keeps one entry. */
  id: string;
  failedAt: string;
}

export interface DeadLetterQuery {
  projectId?: string;
  limit?: number;
  /** Page after this id (ids sort by project, then keen.id). */
  after?: string;
}

/**
 * Poison events go here instead of blocking their batch. Operators list them,
 * fix the cause, then requeue (take + persist again) or remove them.
 */
export interface DeadLetterStore {
  /** Upsert per (project, keen.id): a redelivered poison event stays one entry (latest reason). */
  add(entries: DeadLetterEntry[]): Promise<void>;
  list(query?: DeadLetterQuery): Promise<DeadLetter[]>;
  /** Deletes entries; returns how many existed. */
  remove(ids: string[]): Promise<number>;
  /** The entries with these ids (missing ids are skipped). */
  get(ids: string[]): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export function deadLetterId(projectId: string, eventId: string): string {
  return `${projectId}/${eventId}`;
}
