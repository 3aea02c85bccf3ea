export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures (errors or timeouts) that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker refuses calls before letting one probe through. */
  coolDownMs: number;
  now?: () => number;
}

/**
 * Per-shard breaker. A shard that is alive but hung (the incident this exists
 * for) only ever produces timeouts, never TCP errors, so timeouts count as
 * failures exactly like errors do.
 *
 * closed → (threshold failures) → open → (cool-down elapsed) → half-open: one
 * real call is let through as the probe; its success closes the breaker, its
 * failure re-opens it for another cool-down.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.coolDownMs)
      return 'half-open';
    return this.current;
  }

  /** Whether a call could be admitted now (no side effect). */
  isAvailable(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.probeInFlight);
  }

  /** Admits a call; in half-open only the single probe is admitted. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probeInFlight) return false;
    this.current = 'half-open';
    this.probeInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.current = 'closed';
    this.failures = 0;
    this.probeInFlight = false;
  }

  onFailure(): void {
    this.probeInFlight = false;
    if (this.current === 'half-open') {
      this.open();
      return;
    }
    this.failures += 1;
    if (this.failures >= this.options.failureThreshold) this.open();
  }

  private open(): void {
    this.current = 'open';
    this.openedAt = this.now();
    this.failures = 0;
  }
}
