import { TallyError } from '@app/events';

/**
 * Caps the queries one project runs at once on this process, so one tenant's
 * dashboard storm cannot occupy every query slot. Over the cap: 429 with
 * Retry-After, at once (queueing would only make the storm longer). A
 * streamed extraction holds its slot for as long as it streams.
 */
export class ProjectQueryGate {
  private readonly running = new Map<string, number>();

  constructor(private readonly maxPerProject: number) {}

  async run<T>(projectId: string, work: () => Promise<T>): Promise<T> {
    const release = this.acquire(projectId);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Takes one of the project's slots (429 when none is free); call the returned function once done. */
  acquire(projectId: string): () => void {
    const current = this.running.get(projectId) ?? 0;
    if (current >= this.maxPerProject) {
      throw new TallyError(
        'rate_limited',
        'TooManyConcurrentQueriesError',
        `Project "${projectId}" already runs ${current} queries (the limit is ${this.maxPerProject}); retry shortly.`,
        1,
      );
    }
    this.running.set(projectId, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(projectId) ?? 1) - 1;
      if (left <= 0) this.running.delete(projectId);
      else this.running.set(projectId, left);
    };
  }

  /** Queries the project runs now on this process. */
  inUse(projectId: string): number {
    return this.running.get(projectId) ?? 0;
  }
}
