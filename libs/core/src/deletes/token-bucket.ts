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

  /** Takes a token: 0 when granted, else the seconds until one is available. */
  take(key: string): number {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    const tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.perMs);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    this.prune(now);
    return 0;
  }

  private prune(now: number): void {
    if (this.buckets.size < 1000) return;
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.capacity) this.buckets.delete(key);
    }
  }
}
