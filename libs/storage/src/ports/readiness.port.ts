/**
 * A readiness probe: `ping(timeoutMs)` resolves once the dependency answered a
 * cheap request, and rejects (with a message naming what failed) when it
 * refused, failed or did not answer within `timeoutMs`. It never waits longer:
 * a stopped (SIGSTOP) server accepts connections but never answers.
 */
export interface ReadinessProbe {
  ping(timeoutMs: number): Promise<void>;
}

export class ProbeTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/**
 * Runs one cheap request at a time and bounds every wait for it. A probe that
 * finds the previous request still unanswered waits for that one (up to its own
 * timeout) instead of sending another, so a hung server holds at most one
 * request (and one pooled connection) of ours, however often it is probed.
 */
export class SingleFlightProbe implements ReadinessProbe {
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly what: string,
    private readonly request: () => Promise<unknown>,
  ) {}

  ping(timeoutMs: number): Promise<void> {
    if (!this.inFlight) {
      const call = Promise.resolve()
        .then(this.request)
        .then(() => undefined);
      this.inFlight = call;
      const clear = () => {
        if (this.inFlight === call) this.inFlight = undefined;
      };
      call.then(clear, clear);
    }
    return withinTimeout(this.inFlight, timeoutMs, this.what);
  }
}

/** Races a call against a timer; the call's late outcome is ignored. */
export function withinTimeout<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  call.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeoutError(what, ms)), Math.max(0, ms));
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/** One dependency a process needs to be ready, by the name its 503 gives it. */
export interface ReadinessCheck {
  name: string;
  probe: ReadinessProbe;
}

/**
 * Probes every dependency at once, each bounded by `timeoutMs` (so the whole
 * answer never takes longer), and returns null when all answered, or a message
 * naming each that did not and why.
 */
export async function notReadyReason(
  checks: ReadinessCheck[],
  timeoutMs: number,
): Promise<string | null> {
  const failures = await Promise.all(
    checks.map(({ name, probe }) =>
      // The probe starts (and sets its own timer) first, so its own message
      // wins; the outer bound only catches a probe that breaks its promise.
      withinTimeout(callProbe(probe, timeoutMs), timeoutMs, `the ${name}`).then(
        () => null,
        (error: Error) => `${name}: ${error.message}`,
      ),
    ),
  );
  const failed = failures.filter((f): f is string => f !== null);
  return failed.length > 0 ? `Not ready: ${failed.join('; ')}` : null;
}

function callProbe(probe: ReadinessProbe, timeoutMs: number): Promise<void> {
  try {
    return probe.ping(timeoutMs);
  } catch (error) {
    return Promise.reject(error);
  }
}
