export class CallTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'CallTimeoutError';
  }
}

/**
 * Races a call against a timer. The call itself cannot be cancelled (a Redis
 * command already written may still execute), so its late outcome is swallowed.
 */
export function withTimeout<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  call.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallTimeoutError(what, ms)), Math.max(0, ms));
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}
