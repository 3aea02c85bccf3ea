/**
 * One token bucket per key: `capacity` tokens, refilled continuously at
 * `perMinute` per minute. Buckets that are full again are dropped, so memory
 * follows the keys that were active within the last minute.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly capacity = perMinute,
    private readonly clock: () => number = Date.now,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /**
   * Takes `n` tokens (default 1) when the bucket holds them: 0 when granted,
   * else the whole seconds until it will (nothing is taken then).
   */
  take(key: string, n = 1): number {
    const wait = this.wait(key, n);
    if (wait > 0) return wait;
    const bucket = this.buckets.get(key)!;
    bucket.tokens -= n;
    this.prune(bucket.at);
    return 0;
  }

  /** The seconds until `n` tokens are available (0: now), taking nothing. */
  wait(key: string, n = 1): number {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    const tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.perMs);
    this.buckets.set(key, { tokens, at: now });
    if (tokens >= n) return 0;
    return Math.max(1, Math.ceil((n - tokens) / this.perMs / 1000));
  }

  private prune(now: number): void {
    if (this.buckets.size < 1000) return;
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.capacity) this.buckets.delete(key);
    }
  }
}
