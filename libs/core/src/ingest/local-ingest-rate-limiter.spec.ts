import { LocalIngestRateLimiter } from './local-ingest-rate-limiter';

describe('LocalIngestRateLimiter (per-project token buckets for events and bytes)', () => {
  let now = 1_000_000;
  const clock = () => now;
  const limits = { eventsPerSecond: 100, bytesPerSecond: 10_000, burstSeconds: 2 };

  beforeEach(() => {
    now = 1_000_000;
  });

  it('admits a burst of burstSeconds × the rate, then refuses with the seconds until it fits', () => {
    const limiter = new LocalIngestRateLimiter(limits, clock);
    expect(limiter.admitNow({ projectId: 'a', events: 150, bytes: 100 })).toEqual({ admitted: true });
    expect(limiter.admitNow({ projectId: 'a', events: 50, bytes: 100 })).toEqual({ admitted: true });
    // 200 events spent: the bucket is empty; 30 events need 0.3 s of refill.
    expect(limiter.admitNow({ projectId: 'a', events: 30, bytes: 100 })).toEqual({
      admitted: false,
      limit: 'events',
      retryAfterSeconds: 1,
    });
    now += 300;
    expect(limiter.admitNow({ projectId: 'a', events: 30, bytes: 100 })).toEqual({ admitted: true });
  });

  it('spends nothing on a refused request, in either bucket', () => {
    const limiter = new LocalIngestRateLimiter(limits, clock);
    // Within the events limit, over the bytes burst (20,000): refused by bytes, no events spent.
    expect(limiter.admitNow({ projectId: 'a', events: 200, bytes: 25_000 })).toEqual({
      admitted: false,
      limit: 'bytes',
      retryAfterSeconds: 1,
    });
    expect(limiter.admitNow({ projectId: 'a', events: 200, bytes: 20_000 })).toEqual({
      admitted: true,
    });
    // Over both: the events limit is named first, and the bytes are not spent either.
    expect(limiter.admitNow({ projectId: 'a', events: 100, bytes: 10_000 })).toMatchObject({
      admitted: false,
      limit: 'events',
    });
    now += 1_000;
    expect(limiter.admitNow({ projectId: 'a', events: 100, bytes: 10_000 })).toEqual({
      admitted: true,
    });
  });

  it('keeps projects apart: one project over its limit leaves the others their whole burst', () => {
    const limiter = new LocalIngestRateLimiter(limits, clock);
    expect(limiter.admitNow({ projectId: 'noisy', events: 200, bytes: 0 })).toEqual({
      admitted: true,
    });
    expect(limiter.admitNow({ projectId: 'noisy', events: 1, bytes: 0 }).admitted).toBe(false);
    expect(limiter.admitNow({ projectId: 'quiet', events: 200, bytes: 0 })).toEqual({
      admitted: true,
    });
  });

  it('names the wait in whole seconds, as Retry-After needs', () => {
    const limiter = new LocalIngestRateLimiter(
      { eventsPerSecond: 10, bytesPerSecond: 0, burstSeconds: 5 },
      clock,
    );
    expect(limiter.admitNow({ projectId: 'a', events: 50, bytes: 0 })).toEqual({ admitted: true });
    // 35 events at 10/s: 3.5 s → 4.
    expect(limiter.admitNow({ projectId: 'a', events: 35, bytes: 0 })).toEqual({
      admitted: false,
      limit: 'events',
      retryAfterSeconds: 4,
    });
  });

  it('limits nothing that is set to 0', () => {
    const limiter = new LocalIngestRateLimiter(
      { eventsPerSecond: 0, bytesPerSecond: 0, burstSeconds: 1 },
      clock,
    );
    for (let i = 0; i < 100; i++)
      expect(limiter.admitNow({ projectId: 'a', events: 5_000, bytes: 10_000_000 }).admitted).toBe(
        true,
      );
  });
});
