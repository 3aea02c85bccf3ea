import { Logger, Module } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { RetentionSweep, RetentionSweeper } from '@app/core';
import { STORES, Stores } from '@app/storage';
import { RetentionController } from './retention.controller';

/**
 * Retention for the processes that hold the event store and run delete jobs
 * (query pool, standalone): the master-key route, and the sweeper that turns
 * each project's TTL into delete jobs every RETENTION_SWEEP_INTERVAL_MS.
 */
@Module({
  controllers: [RetentionController],
  providers: [
    {
      provide: RetentionSweep,
      inject: [STORES],
      useFactory: (stores: Stores) => new RetentionSweep(stores, new Logger('retention')),
    },
    {
      // Started and stopped with the process (onApplicationBootstrap / beforeApplicationShutdown).
      provide: RetentionSweeper,
      inject: [RetentionSweep, TALLY_CONFIG],
      useFactory: (sweep: RetentionSweep, config: TallyConfig) =>
        new RetentionSweeper(sweep, config.deletes.retentionSweepMs, new Logger('retention')),
    },
  ],
})
export class RetentionModule {}
