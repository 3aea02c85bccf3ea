/**
 * Where use cases report what an operator should see. The pools pass a Nest
 * logger (pino underneath), so a first argument may be an object of fields.
 */
export interface Log {
  log(message: unknown, ...rest: unknown[]): void;
  warn(message: unknown, ...rest: unknown[]): void;
  error(message: unknown, ...rest: unknown[]): void;
}

/** For callers with nowhere to report (CLI one-shots, tests). */
export const SILENT_LOG: Log = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
