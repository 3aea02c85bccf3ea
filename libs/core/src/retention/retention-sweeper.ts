import { Log } from '../log.port';
import { RetentionSweep } from './retention-sweep';

/**
 * Runs the retention sweep on a timer in a query process (or standalone;
 * never the ingest pool, which opens no event store). Every query process
 * sweeps, and that is safe: jobs are named by what they delete, so the
 * processes agree on one job per collection and interval, and each job has
 * one runner at a time (its lease). One sweep at a time per process; a failed
 * sweep (store unreachable) is logged and the next tick tries again.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | null = null;
  private readonly stopping = new AbortController();

  constructor(
    private readonly sweep: RetentionSweep,
    private readonly intervalMs: number,
    private readonly log: Log,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.sweeping;
  }

  /** One sweep now, unless one is under way (then that one). */
  tick(): Promise<void> {
    if (!this.sweeping) {
      this.sweeping = this.sweep
        .run(Date.now(), this.stopping.signal)
        .then(
          () => undefined,
          (error: unknown) =>
            this.log.warn({ err: error }, 'retention sweep failed; retried next interval'),
        )
        .finally(() => {
          this.sweeping = null;
        });
    }
    return this.sweeping;
  }
}
