import { EventBatch, TallyError } from '@app/events';
import { StoreFullError } from '../../errors/store-full';
import { CappedCollection } from '../../ports/metadata-store.port';
import { PersistOutcome } from '../../ports/event-persister.port';
import { RejectedEvent, RejectedEventsError } from '../../ports/rejected-events.error';

/** What the writer thread is started with (`workerData`). */
export interface WriterThreadData {
  file: string;
  maxBytes?: number;
  maxProperties: number;
  /** Start without committing until told to resume (a main-thread write holds the gate). */
  paused: boolean;
}

/** Main thread → writer thread. Messages are handled in the order they were posted. */
export type ToWriter =
  /** One group commit: the batches in one transaction, answered with `done` or `failed`. */
  | { type: 'persist'; id: number; batches: EventBatch[] }
  /** Commit nothing more until `resume`; answered with `paused` once no transaction is open. */
  | { type: 'pause'; id: number }
  | { type: 'resume' }
  /** Answer what was posted before, close the database, exit. */
  | { type: 'close' };

/** Writer thread → main thread. */
export type FromWriter =
  /** The thread opened the database; `tid` is its OS thread id (Linux), for the thread CPU metric. */
  | { type: 'ready'; tid?: number }
  | { type: 'done'; id: number; outcome: PersistOutcome; capped: CappedCollection[] }
  | { type: 'failed'; id: number; error: WireError }
  | { type: 'paused'; id: number };

/**
 * An error as it crosses the thread boundary (structured clone keeps neither
 * classes nor extra fields), rebuilt on the main thread as the same class so
 * the HTTP layer answers it as before: 507 for a full store, the TallyError's
 * own status, 500 for anything else.
 */
export type WireError =
  | { kind: 'full'; message: string }
  | {
      kind: 'tally';
      errorKind: TallyError['kind'];
      errorCode: string;
      message: string;
      retryAfterSeconds?: number;
      rejected?: RejectedEvent[];
      persisted?: PersistOutcome;
    }
  | { kind: 'other'; name: string; message: string; code?: string };

export function toWire(error: unknown): WireError {
  if (error instanceof StoreFullError) return { kind: 'full', message: error.message };
  if (error instanceof RejectedEventsError) {
    return {
      kind: 'tally',
      errorKind: error.kind,
      errorCode: error.errorCode,
      message: error.message,
      rejected: error.rejected,
      persisted: error.persisted,
    };
  }
  if (error instanceof TallyError) {
    return {
      kind: 'tally',
      errorKind: error.kind,
      errorCode: error.errorCode,
      message: error.message,
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      kind: 'other',
      name: error.name,
      message: error.message,
      code: typeof code === 'string' ? code : undefined,
    };
  }
  return { kind: 'other', name: 'Error', message: String(error) };
}

export function fromWire(wire: WireError): Error {
  switch (wire.kind) {
    case 'full':
      return new StoreFullError(wire.message);
    case 'tally':
      if (wire.rejected) return new RejectedEventsError(wire.rejected, wire.persisted);
      return new TallyError(wire.errorKind, wire.errorCode, wire.message, wire.retryAfterSeconds);
    case 'other': {
      const error = new Error(wire.message) as Error & { code?: string };
      error.name = wire.name;
      if (wire.code !== undefined) error.code = wire.code;
      return error;
    }
  }
}
