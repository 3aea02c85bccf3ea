export const INGEST_RATE_LIMITER = Symbol('INGEST_RATE_LIMITER');

/** Per-project write limits; 0 turns a limit off. */
export interface IngestRateLimits {
  /** Events a project may write per second, sustained. */
  eventsPerSecond: number;
  /** Request bytes a project may write per second, sustained. */
  bytesPerSecond: number;
  /** Burst allowance: a project may send this many seconds' worth at once after a quiet spell. */
  burstSeconds: number;
}

/** What one write request asks to spend. */
export interface IngestCost {
  projectId: string;
  events: number;
  bytes: number;
}

export type IngestAdmission =
  | { admitted: true }
  | {
      admitted: false;
      /** Which limit refused it. */
      limit: 'events' | 'bytes';
      /** Whole seconds until the request would fit (Retry-After). */
      retryAfterSeconds: number;
    };

/**
 * Admission of write requests against per-project limits, checked before the
 * events are validated or queued. A refused request spends nothing. Shared by
 * every ingest process where the deployment has a shared store for it (the
 * Redis shards), per process otherwise. Never the reason a write fails when
 * that shared store is slow or down: the limiter answers from local state then.
 */
export interface IngestRateLimiter {
  admit(cost: IngestCost): Promise<IngestAdmission>;
  close(): Promise<void>;
}
