import 'reflect-metadata';
import pino from 'pino';
import { loadConfig, runMain } from '@app/config';
import { openStores, ReadinessCheck, Stores } from '@app/storage';
import {
  DEFAULT_RETRY,
  carriesUniquenessTokens,
  CoalescingPersister,
  IngestJobProcessor,
  MarkerSweeper,
  MarkerSweepLoop,
  persisterFor,
} from '@app/core';
import { IngestWorker, redisShards, RedisShardPinger } from '@app/queue/bullmq';
import { startWorkerHttp } from './worker-http';

/**
 * The worker: consumes every queue shard and writes through the same persist
 * use case as standalone. Its only HTTP surface is worker-http.ts (health,
 * readiness, metrics on WORKER_HTTP_PORT), up from the first moment so that
 * /healthz answers while the stores open. It drains on SIGTERM (finishes the
 * jobs in hand, which are otherwise redelivered) and then closes the stores.
 */
runMain(async () => {
  const config = loadConfig('worker');
  const log = pino({ level: config.logLevel, base: { pool: 'worker' } });
  const shards = redisShards(config.queue.redisUrls);
  const pinger = new RedisShardPinger(shards);
  let state: 'starting' | 'consuming' | 'draining' = 'starting';
  let stores: Stores | undefined = undefined;
  const http = await startWorkerHttp({
    host: config.http.host,
    port: config.http.workerHttpPort,
    readyTimeoutMs: config.http.readyTimeoutMs,
    readiness: (): ReadinessCheck[] | { notReady: string } => {
      if (state === 'starting' || !stores) return { notReady: 'the worker is starting' };
      if (state === 'draining') return { notReady: 'the worker is shutting down' };
      return [
        { name: 'queue', probe: { ping: (ms) => pinger.pingAny(ms) } },
        { name: 'event store', probe: stores.events },
      ];
    },
  });
  if (http) {
    log.info({ host: config.http.host, port: http.port }, 'worker health and metrics listening');
  }

  stores = await openStores(config);
  const worker = new IngestWorker({
    shards,
    concurrency: config.queue.workerConcurrency,
    maxHeldEvents: config.queue.workerMaxHeldEvents,
    handler: new IngestJobProcessor(
      // The jobs held at once, one write per project (docs/queue.md, "Batching across
      // jobs"). On Cassandra a job carrying uniqueness-token copies is written alone:
      // combined with other copies of its token and redelivered job by job after a
      // worker kill, it once left a token stored twice or not at all
      // (test/split/uniqueness-token).
      new CoalescingPersister(persisterFor(stores), {
        maxEvents: config.queue.workerBatchMaxEvents,
        writeAlone: config.storage.kind === 'cassandra' ? carriesUniquenessTokens : undefined,
      }),
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
  // Markers of attempts that died and that no redelivery settles (docs/queue.md).
  const sweep =
    stores.writes.kind === 'marked'
      ? new MarkerSweepLoop(
          new MarkerSweeper({
            writer: stores.writes.writer,
            ledger: stores.writes.ledger,
            olderThanMs: config.queue.markerSweepAfterMs,
            maxProperties: stores.maxProperties,
          }),
          stores.writes.ledger,
          config.queue.markerSweepIntervalMs,
          {
            log: (o, m) => log.info(o, m as string),
            warn: (o, m) => log.warn(o, m as string),
            error: (o, m) => log.error(o, m as string),
          },
        )
      : undefined;
  sweep?.start();
  state = 'consuming';
  log.info({ shards: config.queue.redisUrls.length }, 'Tally worker consuming');
  process.stdout.write('Tally worker consuming\n');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    state = 'draining';
    log.info({ signal }, 'draining');
    await worker.close();
    await sweep?.stop();
    await stores?.close();
    await pinger.close();
    await http?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
});
