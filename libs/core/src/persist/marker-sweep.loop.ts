import { Counter, Gauge, register } from 'prom-client';
import { CounterLedger } from '@app/storage';
import { Log, SILENT_LOG } from '../log.port';
import { MarkerSweeper, SweepOutcome } from './marker-sweeper';

interface SweepMetrics {
  pending: Gauge;
  swept: Counter<'outcome'>;
}

let metrics: SweepMetrics | undefined;

/**
 * Registered by the first loop a process starts (the worker's), not when
 * core is loaded: processes that never sweep (standalone, the pools) do not
 * expose a gauge that would always read 0.
 */
function sweepMetrics(): SweepMetrics {
  metrics ??= {
    pending:
      (register.getSingleMetric('tally_worker_markers_pending') as Gauge | undefined) ??
      new Gauge({
        name: 'tally_worker_markers_pending',
        help: 'Write markers whose schema counters are not applied yet, per (marker, collection), as of the last sweep.',
      }),
    swept:
      (register.getSingleMetric('tally_worker_markers_swept_total') as
        Counter<'outcome'> | undefined) ??
      new Counter({
        name: 'tally_worker_markers_swept_total',
        help: 'Stale write markers the sweep removed, by outcome (settled: counters applied from their stored events; dropped: nothing stored).',
        labelNames: ['outcome'] as const,
      }),
  };
  return metrics;
}

/**
 * Runs the stale-marker sweep every `intervalMs` in the worker. One sweep at a
 * time per process; several workers may sweep at once, which is safe because
 * settling is the ledger's conditional update (each marker applied once).
 * A failed sweep (store away) is logged and tried again at the next tick.
 */
export class MarkerSweepLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepOutcome | undefined> | undefined;

  constructor(
    private readonly sweeper: MarkerSweeper,
    private readonly ledger: CounterLedger,
    private readonly intervalMs: number,
    private readonly log: Log = SILENT_LOG,
  ) {}

  start(): void {
    sweepMetrics();
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** One sweep now (or the one already running), then the pending gauge. */
  tick(): Promise<SweepOutcome | undefined> {
    this.running ??= this.sweepOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async sweepOnce(): Promise<SweepOutcome | undefined> {
    const m = sweepMetrics();
    try {
      const outcome = await this.sweeper.sweep();
      if (outcome.settled > 0) m.swept.inc({ outcome: 'settled' }, outcome.settled);
      if (outcome.dropped > 0) m.swept.inc({ outcome: 'dropped' }, outcome.dropped);
      if (outcome.settled + outcome.dropped > 0)
        this.log.log({ ...outcome }, 'stale write markers swept');
      m.pending.set(await this.ledger.countPending());
      return outcome;
    } catch (error) {
      this.log.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'stale-marker sweep failed; retried at the next tick',
      );
      return undefined;
    }
  }
}
