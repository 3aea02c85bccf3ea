import 'reflect-metadata';
import pino from 'pino';
import { loadConfig } from '@app/config';
import { runMain } from '@app/http';
import { openStores } from '@app/storage';
import { IngestWorker, redisShards } from '@app/queue';

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
    persister: stores.persister,
    deadLetters: stores.deadLetters,
    onEvent: (event) => {
      // Retries and dead letters mean the store is refusing or timing out writes: an operator wants them at the default level.
      if (event.kind === 'error' || event.kind === 'failed' || event.kind === 'retry') log.warn(event, 'worker event');
      else if (event.kind === 'dead-lettered') log.error(event, 'worker event');
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
