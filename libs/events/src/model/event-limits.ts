export interface EventLimits {
  maxEventBytes: number;
  maxRequestBytes: number;
  maxBatchEvents: number;
}

/** Deeper nesting than this is refused: it only ever comes from abuse or bugs. */
export const MAX_DEPTH = 64;
