import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { JournalRetention } from '@app/core';

const RETENTION = Symbol('JOURNAL_RETENTION');

/**
 * The edge journal's retention (docs/operations.md, "The journal"): with
 * JOURNAL_DIR set, each ingest process removes the day files past
 * JOURNAL_KEEP_DAYS at start and every JOURNAL_SWEEP_INTERVAL_MS, and logs
 * the journal's size. The ingest pool runs beside the edge; nginx cannot
 * delete its own files.
 */
function startRetention(config: TallyConfig): JournalRetention | null {
  const { dir, keepDays, sweepIntervalMs } = config.journal;
  if (!dir) return null;
  const retention = new JournalRetention(
    { dir, keepDays, intervalMs: sweepIntervalMs },
    new Logger('JournalRetention'),
  );
  retention.start();
  return retention;
}

class RetentionStopper implements OnApplicationShutdown {
  constructor(@Inject(RETENTION) private readonly retention: JournalRetention | null) {}
  onApplicationShutdown(): void {
    this.retention?.stop();
  }
}

@Module({
  providers: [
    { provide: RETENTION, inject: [TALLY_CONFIG], useFactory: startRetention },
    RetentionStopper,
  ],
})
export class JournalRetentionModule {}
