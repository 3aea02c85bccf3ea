import 'reflect-metadata';
import pino from 'pino';
import { loadConfig, runMain } from '@app/config';
import { openStores } from '@app/storage';
import { DEFAULT_RETRY, IngestJobProcessor, persisterFor } from '@app/core';
import { IngestWorker, redisShards } from '@app/queue/bullmq';

/**
 * The worker: consumes every queue shard and writes through the same persist
 * use case as standalone. No HTTP surface; it drains on SIGTERM (finishes the
 * jobs in hand, which are otherwise redelivered) and then closes the stores.
 */
runMain(async () => {
  const config = loadConfig('worker');
  const log = pino({ level: config.logLevel, base: { pool: 'worker' } });
  const stores = await openStores(config);
  const worker = new IngestWorker({
    shards: redisShards(config.queue.redisUrls),
    handler: new IngestJobProcessor(
      persisterFor(stores),
      stores.deadLetters,
      DEFAULT_RETRY,
      (event) => {
        // A retry means the store is refusing or timing out writes; a dead letter means events it will never take.
        if (event.kind === 'retry') log.warn(event, 'worker event');
        else log.error(event, 'worker event');
      },
    ),
    onEvent: (event) => {
      if (event.kind === 'error' || event.kind === 'failed') log.warn(event, 'worker event');
      else log.debug(event, 'worker event');
    },
  });
  await worker.start();
  log.info({ shards: config.queue.redisUrls.length }, 'Tally worker consuming');
  process.stdout.write('Tally worker consuming\n');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    await worker.close();
    await stores.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
});
