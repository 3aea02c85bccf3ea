/**
 * What standalone's write path costs without HTTP, without the framework and
 * without the writer thread's hand-off: the same events, prepared and stored
 * by Tally's own code in this one thread, so the HTTP figures of the ingest
 * bench can be read against the store's own ceiling on the same machine in
 * the same run.
 *
 * - prepare: validation, the reserved keen fields and the keyed keen.id
 *   (`prepareEvent`, what the HTTP thread does per event);
 * - SQLite insert: `SqliteEventStore.insert` of prepared events into a fresh
 *   data dir (the same file, pragmas, indexes and `synchronous=FULL` commit
 *   as the server), one transaction per commit;
 * - write use case: the persister the writer thread runs (the insert, the
 *   schema counters and the capped-collection check in one transaction).
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '@app/config';
import { persisterFor } from '@app/core';
import { CollectionEvent, EventBatch, RequestOrigin, prepareEvent } from '@app/events';
import { openStores, Stores } from '@app/storage';
import { tempDir } from './processes';

export interface CeilingFigures {
  /** Events prepared per second (HTTP-thread work per event). */
  preparePerSec: number;
  /** Events per second stored by the event store alone, by events per commit. */
  insertPerSec: Map<number, number>;
  /** Events per second through the whole write use case, by events per commit. */
  persistPerSec: Map<number, number>;
}

const ID_SECRET = 'ab'.repeat(32);
const PROJECT = 'default';

/** `total` events made by `body`, prepared as one request's batch would be, in requests of 100. */
function prepared(total: number, body: (i: number) => object): CollectionEvent[] {
  const options = { idSecret: ID_SECRET, maxEventBytes: 1 << 20 };
  const out: CollectionEvent[] = [];
  for (let i = 0; i < total; i++) {
    const origin: RequestOrigin = {
      projectId: PROJECT,
      requestId: `req-${Math.floor(i / 100)}`,
      receivedAt: Date.now(),
    };
    out.push(prepareEvent('bench', body(i), i % 100, origin, options));
  }
  return out;
}

/** Events per second writing `events` in commits of `perCommit` with `write`, in a fresh data dir. */
async function writeRate(
  events: CollectionEvent[],
  perCommit: number,
  write: (stores: Stores) => (batch: CollectionEvent[]) => Promise<unknown>,
): Promise<number> {
  const dataDir = tempDir('tally-ceiling-');
  const stores = await openStores(loadConfig('standalone', { STORE: 'sqlite', DATA_DIR: dataDir }));
  try {
    const commit = write(stores);
    const started = performance.now();
    for (let i = 0; i < events.length; i += perCommit) await commit(events.slice(i, i + perCommit));
    return events.length / ((performance.now() - started) / 1000);
  } finally {
    await stores.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Measures the three figures over `total` events from `body` for each commit
 * size (medians are left to the caller: call it once per round).
 */
export async function storeCeiling(
  total: number,
  commitSizes: number[],
  body: (i: number) => object,
): Promise<CeilingFigures> {
  const started = performance.now();
  const events = prepared(total, body);
  const preparePerSec = total / ((performance.now() - started) / 1000);
  const insertPerSec = new Map<number, number>();
  const persistPerSec = new Map<number, number>();
  for (const size of commitSizes) {
    insertPerSec.set(
      size,
      await writeRate(events, size, (stores) => (batch) => stores.events.insert(PROJECT, batch)),
    );
    let n = 0;
    persistPerSec.set(
      size,
      await writeRate(events, size, (stores) => {
        const persister = persisterFor(stores);
        return (batch) => {
          const queued: EventBatch = { batchId: `b${n++}`, projectId: PROJECT, events: batch };
          return persister.persistAll([queued]);
        };
      }),
    );
  }
  return { preparePerSec, insertPerSec, persistPerSec };
}
