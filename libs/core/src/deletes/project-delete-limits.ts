import { TallyError } from '@app/events';
import { TokenBuckets } from './token-bucket';

export interface DeleteLimitsOptions {
  maxConcurrentPerProject: number;
  /** 0: no rate limit. */
  ratePerMinute: number;
  clock?: () => number;
}

/** A held delete slot; release() is idempotent. */
export interface DeleteSlot {
  readonly projectId: string;
  release(): void;
}

/**
 * A busy slot is usually a background job that runs for a while: asking the
 * client back in a second would only turn the wait into a stream of 429s.
 */
const CONCURRENCY_RETRY_AFTER_S = 5;

/**
 * Per-project delete limits on this process: at most N deletes at once (in
 * requests or background jobs) and a token bucket on delete requests. Both
 * answer 429 at once with Retry-After rather than queueing, like the query
 * gate: a queued mass delete would only hold its client and a slot longer.
 *
 * The limits are per process; nginx spreads a project's deletes over the
 * query pool, so a deployment admits up to N × (query processes).
 */
export class ProjectDeleteLimits {
  private readonly running = new Map<string, number>();
  private readonly rate: TokenBuckets | undefined;

  constructor(private readonly options: DeleteLimitsOptions) {
    this.rate =
      options.ratePerMinute > 0
        ? new TokenBuckets(options.ratePerMinute, options.ratePerMinute, options.clock)
        : undefined;
  }

  /** Admits one delete request: a free slot and a token, or a 429 naming the limit. */
  admit(projectId: string): DeleteSlot {
    const slot = this.tryAcquire(projectId);
    if (!slot) {
      const max = this.options.maxConcurrentPerProject;
      throw new TallyError(
        'rate_limited',
        'TooManyConcurrentDeletesError',
        `Project "${projectId}" already runs ${max} delete(s) on this server ` +
          `(DELETE_MAX_CONCURRENT_PER_PROJECT is ${max}); retry when one has finished.`,
        CONCURRENCY_RETRY_AFTER_S,
      );
    }
    const wait = this.rate?.take(projectId) ?? 0;
    if (wait > 0) {
      slot.release();
      throw new TallyError(
        'rate_limited',
        'DeleteRateLimitExceededError',
        `Project "${projectId}" sent more than ${this.options.ratePerMinute} delete requests in a minute ` +
          `(DELETE_RATE_PER_MINUTE); retry in ${wait} s.`,
        wait,
      );
    }
    return slot;
  }

  /** A slot without a token (a resumed job is not a new request); null when the project is at its cap. */
  tryAcquire(projectId: string): DeleteSlot | null {
    const current = this.running.get(projectId) ?? 0;
    if (current >= this.options.maxConcurrentPerProject) return null;
    this.running.set(projectId, current + 1);
    let held = true;
    return {
      projectId,
      release: () => {
        if (!held) return;
        held = false;
        const left = (this.running.get(projectId) ?? 1) - 1;
        if (left <= 0) this.running.delete(projectId);
        else this.running.set(projectId, left);
      },
    };
  }

  /** Projects with no free slot here: a resumed job of theirs would have to wait. */
  busyProjects(): string[] {
    const max = this.options.maxConcurrentPerProject;
    return [...this.running].filter(([, n]) => n >= max).map(([projectId]) => projectId);
  }
}
