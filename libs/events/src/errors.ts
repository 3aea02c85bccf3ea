/**
 * Domain errors. Libraries throw these (never Nest's HttpException); the one
 * exception filter in @app/http maps `kind` to a status and renders the
 * Keen-shaped body `{message, error_code}`.
 */
export type ErrorKind =
  | 'invalid' // 400
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'too_large' // 413
  | 'rate_limited' // 429
  | 'unavailable' // 503
  | 'timeout'; // 504

export class TallyError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly errorCode: string,
    message: string,
    /** Seconds a client should wait before retrying (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = errorCode;
  }
}

export const invalid = (errorCode: string, message: string): TallyError =>
  new TallyError('invalid', errorCode, message);
