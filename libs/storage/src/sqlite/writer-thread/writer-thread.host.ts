import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Stores } from '../../open-stores';
import { EventPersister } from '../../ports/event-persister.port';
import { CappedCollection } from '../../ports/metadata-store.port';
import { currentThreadId } from '../../thread-id';
import { SqliteDatabase } from '../sqlite-database';
import { SqliteEventStore } from '../sqlite-event.store';
import { SqliteDatasetStore } from '../sqlite-dataset.store';
import { SqliteMetadataStore, SqliteUnitOfWork } from '../sqlite-metadata.store';
import { FromWriter, ToWriter, WriterThreadData, toWire } from './writer-protocol';

/** What the thread opens for the write use case: its own write connection to the file. */
export type WriterStores = Pick<
  Stores,
  'events' | 'metadata' | 'unitOfWork' | 'writes' | 'maxProperties' | 'datasets'
>;

/**
 * The body of standalone's writer thread (its entry file, in apps/standalone,
 * hands in the write use case, which this folder may not import): opens its
 * own connection to the SQLite file and runs each `persist` message as one
 * transaction of the write use case, in the order posted, answering each
 * after its COMMIT returned (synchronous=FULL: on disk). Its synchronous
 * commit blocks only this thread; the HTTP thread keeps serving meanwhile.
 */
export function runSqliteWriterThread(
  makePersister: (stores: WriterStores) => EventPersister,
): void {
  if (isMainThread || !parentPort) throw new Error('the SQLite writer runs in a worker thread');
  const port = parentPort;
  const data = workerData as WriterThreadData;
  const db = new SqliteDatabase(data.file, { maxBytes: data.maxBytes });
  const persister = makePersister({
    events: new SqliteEventStore(db),
    metadata: new SqliteMetadataStore(db),
    unitOfWork: new SqliteUnitOfWork(db),
    writes: { kind: 'transactional' },
    maxProperties: data.maxProperties,
    datasets: new SqliteDatasetStore(db),
  });
  let capped: CappedCollection[] = [];
  persister.onSchemaCapped((projectId, collection) => capped.push({ projectId, collection }));

  const send = (message: FromWriter) => port.postMessage(message);
  const queue: ToWriter[] = [];
  let paused = data.paused;
  let running = false;

  // Messages are taken one at a time, in order: a pause waits for the commits
  // posted before it, and persists posted after it wait for the resume.
  const drain = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const message = queue[0];
        if (message.type === 'persist' && paused) break;
        queue.shift();
        switch (message.type) {
          case 'persist': {
            capped = [];
            try {
              const outcome = await persister.persistAll(message.batches);
              send({ type: 'done', id: message.id, outcome, capped });
            } catch (error) {
              send({ type: 'failed', id: message.id, error: toWire(error) });
            }
            break;
          }
          case 'pause':
            paused = true;
            send({ type: 'paused', id: message.id });
            break;
          case 'resume':
            paused = false;
            break;
          case 'close':
            db.close();
            port.close();
            return;
        }
      }
    } finally {
      running = false;
    }
  };

  port.on('message', (message: ToWriter) => {
    // A resume must overtake the persists waiting for it.
    if (message.type === 'resume') paused = false;
    else queue.push(message);
    void drain();
  });
  send({ type: 'ready', tid: currentThreadId() });
}
