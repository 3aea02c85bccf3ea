import { TallyError } from '@app/events';
import { ProjectDeleteLimits } from './project-delete-limits';
import { TokenBuckets } from './token-bucket';

function refusal(work: () => unknown): TallyError {
  try {
    work();
  } catch (error) {
    if (error instanceof TallyError) return error;
    throw error;
  }
  throw new Error('expected a 429');
}

describe('TokenBuckets', () => {
  it('grants a burst of the capacity, then one token per 60/rate seconds', () => {
    let now = 0;
    const buckets = new TokenBuckets(3, 3, () => now);
    expect([buckets.take('p'), buckets.take('p'), buckets.take('p')]).toEqual([0, 0, 0]);
    expect(buckets.take('p')).toBe(20); // one token every 20 s
    now += 19_000;
    expect(buckets.take('p')).toBe(1);
    now += 1_000;
    expect(buckets.take('p')).toBe(0);
    expect(buckets.take('p')).toBe(20);
  });

  it('keeps projects apart', () => {
    const buckets = new TokenBuckets(1, 1, () => 0);
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(60);
    expect(buckets.take('b')).toBe(0);
  });
});

describe('ProjectDeleteLimits', () => {
  it('caps concurrent deletes per project, naming the limit, and frees the slot on release', () => {
    const limits = new ProjectDeleteLimits({ maxConcurrentPerProject: 2, ratePerMinute: 0 });
    const a = limits.admit('p');
    const b = limits.admit('p');
    const other = limits.admit('q');
    expect(limits.busyProjects()).toEqual(['p']);
    const error = refusal(() => limits.admit('p'));
    expect(error.kind).toBe('rate_limited');
    expect(error.errorCode).toBe('TooManyConcurrentDeletesError');
    expect(error.message).toMatch(/DELETE_MAX_CONCURRENT_PER_PROJECT is 2/);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    a.release();
    a.release(); // idempotent: a double release must not free b's slot
    expect(limits.busyProjects()).toEqual([]);
    limits.admit('p');
    expect(() => limits.admit('p')).toThrow(TallyError);
    b.release();
    other.release();
  });

  it('refuses requests over the rate with the seconds until the next token, and takes no slot for them', () => {
    let now = 0;
    const limits = new ProjectDeleteLimits({
      maxConcurrentPerProject: 5,
      ratePerMinute: 2,
      clock: () => now,
    });
    limits.admit('p').release();
    limits.admit('p').release();
    const error = refusal(() => limits.admit('p'));
    expect(error.errorCode).toBe('DeleteRateLimitExceededError');
    expect(error.message).toMatch(/DELETE_RATE_PER_MINUTE/);
    expect(error.retryAfterSeconds).toBe(30);
    expect(limits.busyProjects()).toEqual([]);
    expect(limits.tryAcquire('p')).not.toBeNull(); // resumed jobs spend no token
    now += 30_000;
    expect(() => limits.admit('p')).not.toThrow();
  });

  it('gives a resumed job a slot only while the project is under its cap', () => {
    const limits = new ProjectDeleteLimits({ maxConcurrentPerProject: 1, ratePerMinute: 60 });
    const request = limits.admit('p');
    expect(limits.tryAcquire('p')).toBeNull();
    request.release();
    const job = limits.tryAcquire('p');
    expect(job).not.toBeNull();
    expect(() => limits.admit('p')).toThrow(/already runs 1 delete/);
  });
});
