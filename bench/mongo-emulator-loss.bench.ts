/**
 * Does the MongoDB-wire test server (tools/mongo-server over mongo-java-server
 * 1.47.0) lose inserts it acknowledged? docs/known-issues.md, first section.
 *
 * Each backend (memory; h2-stock: the library's own H2Backend on a file, no
 * serialization, no commit per write; h2: DurableH2Backend, as the stack runs
 * it) gets its own server on a loopback port and these patterns, all with
 * concurrent deliveries of 100-300 events of which about 30% are redeliveries
 * (duplicate-key errors under `ordered: false`):
 *
 *   protocol             the worker's write pattern on the raw driver: $push a
 *                        marker into two shared counter documents (upserts),
 *                        insertMany, read back by `_id: {$in}`, conditional
 *                        $inc/$pull per counter document, updateMany by marker,
 *                        markers of the duplicates. An insert counts as
 *                        acknowledged only when the server answered it: success,
 *                        or a bulk error carrying the server's writeErrors (then
 *                        all but those indexes).
 *   protocol+timeouts    the same on clients with 5, 15, 40 and 100 ms socket
 *                        timeouts: commands time out client-side and the driver
 *                        closes their sockets mid-command. A timed-out insert is
 *                        not acknowledged (its outcome is unknown).
 *   app+stall            the app's own insert and read-back
 *                        (MongoEventStore.insertMarked, missingIds) while the
 *                        server is paused for 2 s (SIGSTOP: a saturated
 *                        machine), heartbeat 500 ms, socket timeout 300 ms; the
 *                        driver marks the server unknown and inserts fail
 *                        before anything is sent. "Acknowledged" is what
 *                        insertMarked reports inserted.
 *   app+stall strict     the same with the failed insertMany read strictly
 *                        (StrictConnection below: a bulk error without the
 *                        server's writeErrors is an insert of unknown outcome).
 *   persister            the whole write (MarkedEventPersister with its
 *                        read-back), no timeouts; failed batches are persisted
 *                        again at the end (the worker's retry), then the `n`
 *                        schema counters are compared with the stored events.
 *   persister+timeouts   the same with a 15 ms socket timeout;
 *   persister+to strict  and with the strict reading.
 *
 * Per pattern: acknowledged, missing when read back at once (the persister's
 * read-back), present at the end (read back with a fresh client after a
 * pause), LOST = acknowledged - present at the end; what the server's insert
 * replies said (its `n` counts duplicates too); ids acknowledged as new that
 * an earlier delivery had stored.
 *
 * Run: `npm run bench -- mongo-emulator-loss` (under 2 minutes; env
 * LOSS_BACKENDS=memory,h2-stock,h2, LOSS_SECONDS=2 per pattern). Figures in
 * docs/known-issues.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collection, Db, MongoBulkWriteError, MongoClient, MongoClientOptions } from 'mongodb';
import { CollectionEvent } from '@app/events';
import { MongoConnection, MongoEventStore, MongoMetadataStore } from '@app/storage/mongo';
import { mongoEventPersister } from '@app/storage/mongo/testing';
import { freePorts, mongoService, ServiceHandle } from '@tools/stack';

type Backend = 'memory' | 'h2-stock' | 'h2';
const BACKENDS = (process.env.LOSS_BACKENDS || 'memory,h2-stock,h2').split(',') as Backend[];
const SECONDS = Number(process.env.LOSS_SECONDS || 2);
const WORKERS = 8;
const PROJECT = 'bench';
const COLLECTIONS = ['a', 'b'];
const DUPLICATE_KEY = 11000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface EventDoc {
  _id: string;
  p: string;
  c: string;
  t: Date;
  e: Record<string, unknown>;
  m?: string;
}
interface CounterDoc {
  _id: string;
  p?: string;
  c?: string;
  pending?: { a: string; at: Date }[];
  counts?: Record<string, number>;
}

/** What one pattern saw. */
class Tally {
  attempts = 0;
  insertsAnswered = 0;
  insertsFailed = 0;
  errors = new Map<string, number>();
  /** Ids acknowledged as written by this attempt (not duplicates). */
  acked = new Set<string>();
  /** Ids acknowledged that an earlier attempt had already stored (reported inserted, were duplicates). */
  ackedButHeldBefore = 0;
  missingAtOnce = 0;
  /** Sum of the server's `n` over answered inserts, and what those inserts really added. */
  serverN = 0;
  serverAdded = 0;
  /** Every id ever sent, and the ids some attempt got acknowledged (for redeliveries). */
  sent: string[] = [];
  stored = new Set<string>();
  seq = 0;

  error(e: unknown): void {
    const name = (e as Error)?.constructor?.name ?? 'Error';
    const label = `${name}: ${String((e as Error)?.message ?? e)
      .replace(/\d+/g, 'N')
      .slice(0, 60)}`;
    this.errors.set(label, (this.errors.get(label) ?? 0) + 1);
  }

  /** A batch: fresh ids plus ~30% redeliveries of ids sent before (stored or not). */
  batch(tag: string, worker: number): { marker: string; docs: EventDoc[] } {
    const seq = ++this.seq;
    const marker = `${tag}.${worker}.${seq}`;
    const size = 100 + Math.floor(Math.random() * 201);
    const redelivered = this.sent.length > 0 ? Math.floor(size * 0.3) : 0;
    const ids = new Set<string>();
    for (let i = 0; i < redelivered; i++)
      ids.add(this.sent[Math.floor(Math.random() * this.sent.length)]);
    for (let i = ids.size; i < size; i++) ids.add(`${tag}-${worker}-${seq}-${i}`);
    const t0 = Date.UTC(2026, 0, 1);
    const docs = [...ids].map((id, i) => ({
      _id: id,
      p: PROJECT,
      c: COLLECTIONS[i % COLLECTIONS.length],
      t: new Date(t0 + i * 1000),
      e: { n: i, user: { id: `u${i % 50}`, plan: i % 3 ? 'free' : 'pro' }, keen: { id } },
      m: marker,
    }));
    for (const d of docs) this.sent.push(d._id);
    return { marker, docs };
  }
}

/** Counts the server's `n` on insert replies (it reports every document sent, duplicates included). */
function watchInserts(client: MongoClient, tally: Tally): void {
  client.on('commandSucceeded', (ev) => {
    if (ev.commandName !== 'insert') return;
    const reply = ev.reply as { n?: number; writeErrors?: unknown[] };
    tally.serverN += reply.n ?? 0;
  });
}

/**
 * The worker's write pattern on the raw driver, with the acknowledgement read
 * strictly: only what the server answered counts.
 */
async function rawDelivery(
  events: Collection<EventDoc>,
  counters: Collection<CounterDoc>,
  tally: Tally,
  tag: string,
  worker: number,
): Promise<void> {
  const { marker, docs } = tally.batch(tag, worker);
  const ids = docs.map((d) => d._id);
  tally.attempts++;
  try {
    await counters.bulkWrite(
      COLLECTIONS.map((c) => ({
        updateOne: {
          filter: { _id: `${PROJECT}:${c}` },
          update: {
            $setOnInsert: { p: PROJECT, c },
            $push: { pending: { a: marker, at: new Date() } },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  } catch (e) {
    tally.error(e);
    return;
  }
  const heldBefore = new Set(ids.filter((id) => tally.stored.has(id)));
  let written: string[];
  let duplicates: string[] = [];
  try {
    await events.insertMany(docs, { ordered: false });
    written = ids;
    tally.insertsAnswered++;
  } catch (e) {
    // A bulk error without writeErrors is the driver wrapping a timeout, a
    // dropped connection or a failed server selection: the outcome is unknown.
    if (
      e instanceof MongoBulkWriteError &&
      Array.isArray(e.writeErrors) &&
      e.writeErrors.length > 0 &&
      e.writeErrors.every((w) => w.code === DUPLICATE_KEY)
    ) {
      const failed = new Set(e.writeErrors.map((w) => w.index));
      written = ids.filter((_, i) => !failed.has(i));
      duplicates = ids.filter((_, i) => failed.has(i));
      tally.insertsAnswered++;
    } else {
      tally.insertsFailed++;
      tally.error(e);
      return;
    }
  }
  tally.serverAdded += written.length;
  for (const id of written) {
    tally.acked.add(id);
    tally.stored.add(id);
    if (heldBefore.has(id)) tally.ackedButHeldBefore++;
  }
  try {
    const back = await events
      .find({ _id: { $in: written }, p: PROJECT }, { projection: { _id: 1 } })
      .toArray();
    tally.missingAtOnce += written.length - back.length;
    for (const c of COLLECTIONS) {
      const mine = docs.filter((d) => d.c === c && written.includes(d._id)).length;
      await counters.updateOne(
        { _id: `${PROJECT}:${c}`, 'pending.a': marker },
        { $inc: { 'counts.n': mine }, $pull: { pending: { a: marker } } },
      );
    }
    await events.updateMany({ p: PROJECT, m: marker }, { $unset: { m: '' } });
    if (duplicates.length > 0)
      await events
        .find(
          { _id: { $in: duplicates }, p: PROJECT, m: { $exists: true } },
          { projection: { _id: 1, m: 1 } },
        )
        .toArray();
  } catch (e) {
    tally.error(e);
  }
}

/** The app's insert and read-back (MongoEventStore.insertMarked, missingIds). */
async function appDelivery(store: MongoEventStore, tally: Tally, tag: string, worker: number) {
  const { marker, docs } = tally.batch(tag, worker);
  tally.attempts++;
  const batch = toEvents(docs);
  const heldBefore = new Set(batch.filter((e) => tally.stored.has(e.id)).map((e) => e.id));
  let inserted: string[];
  try {
    inserted = (await store.insertMarked(PROJECT, batch, marker)).inserted.map((e) => e.id);
    tally.insertsAnswered++;
  } catch (e) {
    tally.insertsFailed++;
    tally.error(e);
    return;
  }
  for (const id of inserted) {
    tally.acked.add(id);
    tally.stored.add(id);
    if (heldBefore.has(id)) tally.ackedButHeldBefore++;
  }
  try {
    tally.missingAtOnce += (await store.missingIds(PROJECT, inserted)).length;
  } catch (e) {
    tally.error(e);
  }
}

function toEvents(docs: EventDoc[]): CollectionEvent[] {
  return docs.map((d) => ({
    id: d._id,
    collection: d.c,
    timestamp: d.t.getTime(),
    event: d.e as CollectionEvent['event'],
  }));
}

/**
 * The worker's whole write (MarkedEventPersister, with its read-back) on a
 * connection with a short socket timeout. A batch is acknowledged when a
 * persist() of it resolved; failed batches are kept for the drain.
 */
async function persisterDelivery(
  persister: ReturnType<typeof mongoEventPersister>,
  tally: Tally,
  failed: CollectionEvent[][],
  worker: number,
) {
  const batch = toEvents(tally.batch('w', worker).docs);
  tally.attempts++;
  try {
    await persister.persist(PROJECT, batch);
    tally.insertsAnswered++;
    for (const e of batch) tally.acked.add(e.id);
  } catch (e) {
    tally.insertsFailed++;
    tally.error(e);
    failed.push(batch);
  }
}

/** Stored events per collection and the `n` counters, read with a fresh client. */
async function countersVersusStored(
  url: string,
  database: string,
): Promise<{ stored: number; counted: number; pending: number }> {
  const connection = new MongoConnection({ url, database, socketTimeoutMs: 60_000 });
  try {
    const metadata = new MongoMetadataStore({ connection });
    const db = await connection.db();
    const stored = await db.collection('events').countDocuments({ p: PROJECT });
    const counted = (await metadata.getSchema(PROJECT))
      .filter((c) => c.path === 'n' && c.type === 'num')
      .reduce((n, c) => n + c.count, 0);
    const pending = (
      await db
        .collection<CounterDoc>('schema_counters')
        .find({ p: PROJECT }, { projection: { pending: 1 } })
        .toArray()
    ).reduce((n, d) => n + (d.pending?.length ?? 0), 0);
    return { stored, counted, pending };
  } finally {
    await connection.close();
  }
}

async function loop(seconds: number, workers: number, one: (worker: number) => Promise<void>) {
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (Date.now() < until) await one(w);
    }),
  );
}

/** Present at the end: a fresh client, by `_id` alone (the test server's _id index), in chunks. */
async function presentAtEnd(url: string, database: string, ids: string[]): Promise<number> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 10_000,
    socketTimeoutMS: 60_000,
  });
  try {
    const events = client.db(database).collection<EventDoc>('events');
    let n = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      n += (await events.find({ _id: { $in: chunk } }, { projection: { _id: 1 } }).toArray())
        .length;
    }
    return n;
  } finally {
    await client.close();
  }
}

interface Row {
  backend: Backend;
  pattern: string;
  tally: Tally;
  present: number;
}

function report(row: Row): string {
  const t = row.tally;
  const lost = t.acked.size - row.present;
  const errors = [...t.errors]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${v}x ${k}`)
    .join('; ');
  return (
    `  ${row.backend.padEnd(8)} ${row.pattern.padEnd(19)} attempts ${String(t.attempts).padStart(4)}` +
    `  inserts answered/failed ${t.insertsAnswered}/${t.insertsFailed}` +
    `  acknowledged ${t.acked.size}  missing at once ${t.missingAtOnce}` +
    `  present at end ${row.present}  LOST ${lost}` +
    (t.ackedButHeldBefore
      ? `  (acknowledged as new but stored earlier: ${t.ackedButHeldBefore})`
      : '') +
    (t.serverN ? `  server n ${t.serverN} for ${t.serverAdded} added` : '') +
    (errors ? `\n      client errors: ${errors}` : '')
  );
}

/**
 * memory and h2 as the stack starts them; h2-stock (not a stack backend) as a
 * child of this process, on a file in the state dir, stopped the same way.
 */
async function startServer(backend: Backend, stateDir: string): Promise<ServiceHandle> {
  const [port] = await freePorts(1);
  const name = `mongo-${backend}`;
  if (backend !== 'h2-stock') return mongoService.start({ name, port, stateDir, backend });
  mongoService.install();
  const child = spawn(
    'java',
    [
      '-Xms128m',
      '-Xmx1g',
      '-jar',
      mongoService.jarPath(),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--backend',
      'h2-stock',
      '--file',
      join(stateDir, name, 'mongo.mv'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + 30_000;
  while (!(await mongoService.mongoPing(port, 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not start on port ${port}`);
    }
    await sleep(200);
  }
  return { name, pid: child.pid!, port, stop };
}

/** Whether a bulk error carries the server's per-document write errors. */
function hasWriteErrors(e: MongoBulkWriteError): boolean {
  return Array.isArray(e.writeErrors) ? e.writeErrors.length > 0 : Boolean(e.writeErrors);
}

/**
 * A MongoConnection whose `events` collection reads a failed insertMany
 * strictly: a MongoBulkWriteError without the server's writeErrors is the
 * driver wrapping a timeout, a dropped connection or a failed server
 * selection (mongodb 6.x wraps every error of a bulk write that way), so it is
 * rethrown as what it is, an insert of unknown outcome. With this,
 * MongoEventStore.insertMarked no longer reports such an insert as written.
 */
class StrictConnection extends MongoConnection {
  override db(): Promise<Db> {
    return super.db().then(
      (db) =>
        new Proxy(db, {
          get(target, key, receiver) {
            const value = Reflect.get(target, key, receiver);
            if (key !== 'collection')
              return typeof value === 'function' ? value.bind(target) : value;
            return (name: string, ...rest: unknown[]) => {
              const collection = target.collection(name, ...(rest as []));
              if (name !== 'events') return collection;
              return new Proxy(collection, {
                get(c, k, r) {
                  const v = Reflect.get(c, k, r);
                  if (k !== 'insertMany') return typeof v === 'function' ? v.bind(c) : v;
                  return async (...args: Parameters<Collection['insertMany']>) => {
                    try {
                      return await c.insertMany(...args);
                    } catch (e) {
                      if (e instanceof MongoBulkWriteError && !hasWriteErrors(e))
                        throw new Error(`insert outcome unknown: ${e.message}`);
                      throw e;
                    }
                  };
                },
              });
            };
          },
        }),
    );
  }
}

/** insertMarked while the server is paused for 2 s (SIGSTOP), heartbeat 500 ms. */
async function stallPattern(
  backend: Backend,
  server: ServiceHandle,
  pattern: string,
  strict: boolean,
  rows: Row[],
  connections: MongoConnection[],
): Promise<void> {
  const tally = new Tally();
  const database = pattern.replace(/\W/g, '_');
  const options = {
    url: `${mongoService.mongoUrl(server.port, database)}?heartbeatFrequencyMS=500`,
    database,
    serverSelectionTimeoutMs: 500,
    connectTimeoutMs: 300,
    socketTimeoutMs: 300,
  };
  const connection = strict ? new StrictConnection(options) : new MongoConnection(options);
  connections.push(connection);
  const store = new MongoEventStore({ connection });
  const stall = (async () => {
    await sleep(1000);
    process.kill(server.pid, 'SIGSTOP');
    try {
      await sleep(2000);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
  })();
  await loop(3.2, WORKERS / 2, (w) => appDelivery(store, tally, 's', w));
  await stall;
  await sleep(700);
  const present = await presentAtEnd(mongoService.mongoUrl(server.port), database, [
    ...tally.acked,
  ]);
  rows.push({ backend, pattern, tally, present });
  process.stdout.write(report(rows[rows.length - 1]) + '\n');
}

/**
 * The whole write, read-back guard included (MarkedEventPersister on the app's
 * adapters); then a drain re-persists every failed batch on a healthy
 * connection (the worker's retries) and the `n` counters are compared with
 * the stored events.
 */
async function persisterPattern(
  backend: Backend,
  base: string,
  pattern: string,
  socketTimeoutMs: number,
  strict: boolean,
  rows: Row[],
  connections: MongoConnection[],
): Promise<void> {
  const database = pattern.replace(/\W/g, '_');
  const tally = new Tally();
  const options = { url: base, database, socketTimeoutMs };
  const connection = strict ? new StrictConnection(options) : new MongoConnection(options);
  connections.push(connection);
  const persister = mongoEventPersister({
    events: new MongoEventStore({ connection }),
    metadata: new MongoMetadataStore({ connection }),
  });
  const failed: CollectionEvent[][] = [];
  await loop(SECONDS, WORKERS / 2, (w) => persisterDelivery(persister, tally, failed, w));
  await sleep(500);
  const healthy = new MongoConnection({ url: base, database, socketTimeoutMs: 60_000 });
  connections.push(healthy);
  const drain = mongoEventPersister({
    events: new MongoEventStore({ connection: healthy }),
    metadata: new MongoMetadataStore({ connection: healthy }),
    takeoverAfterMs: 0, // nothing else runs now: every pending marker is dead
  });
  let drainErrors = 0;
  for (const batch of failed) {
    try {
      await drain.persist(PROJECT, batch);
      for (const e of batch) tally.acked.add(e.id);
    } catch (e) {
      drainErrors++;
      tally.error(e);
    }
  }
  const present = await presentAtEnd(base, database, [...tally.acked]);
  rows.push({ backend, pattern, tally, present });
  const c = await countersVersusStored(base, database);
  const guard = [...tally.errors]
    .filter(([k]) => k.includes('StoreLostWrite') || k.includes('acknowledged'))
    .reduce((n, [, v]) => n + v, 0);
  process.stdout.write(
    report(rows[rows.length - 1]) +
      `\n      read-back guard fired ${guard}x; drained ${failed.length} failed batches (${drainErrors} errors);` +
      ` events stored ${c.stored}, counter n ${c.counted} (${c.counted - c.stored >= 0 ? '+' : ''}${c.counted - c.stored}), markers pending ${c.pending}\n`,
  );
  counterDrift.push(
    `${backend} ${pattern} ${c.counted - c.stored >= 0 ? '+' : ''}${c.counted - c.stored}`,
  );
}

/** Counter n minus stored events after each persister pattern. */
const counterDrift: string[] = [];

/** The server running now, killed by the watchdog if a pattern hangs. */
let current: ServiceHandle | undefined;

async function runBackend(backend: Backend, stateDir: string, rows: Row[]): Promise<void> {
  const server = await startServer(backend, stateDir);
  current = server;
  const base = mongoService.mongoUrl(server.port);
  const clients: MongoClient[] = [];
  const connections: MongoConnection[] = [];
  const client = (options: MongoClientOptions) => {
    const c = new MongoClient(base, {
      serverSelectionTimeoutMS: 2000,
      connectTimeoutMS: 5000,
      maxPoolSize: 20,
      monitorCommands: true,
      ...options,
    });
    clients.push(c);
    return c;
  };
  try {
    // protocol: no timeouts.
    {
      const tally = new Tally();
      const c = client({ socketTimeoutMS: 30_000 });
      watchInserts(c, tally);
      const db = c.db('protocol');
      await loop(SECONDS, WORKERS, (w) =>
        rawDelivery(db.collection('events'), db.collection('schema_counters'), tally, 'p', w),
      );
      await sleep(300);
      const present = await presentAtEnd(base, 'protocol', [...tally.acked]);
      rows.push({ backend, pattern: 'protocol', tally, present });
      process.stdout.write(report(rows[rows.length - 1]) + '\n');
    }
    // protocol+timeouts: the same, sockets closed mid-command by client-side
    // timeouts (5, 15, 40, 100 ms: some commands answered, many not).
    {
      const tally = new Tally();
      const timed = [5, 15, 40, 100].map((ms) => client({ socketTimeoutMS: ms }));
      for (const c of timed) watchInserts(c, tally);
      await loop(SECONDS, WORKERS, (w) => {
        const db = timed[w % timed.length].db('timeouts');
        return rawDelivery(
          db.collection('events'),
          db.collection('schema_counters'),
          tally,
          't',
          w,
        );
      });
      await sleep(700);
      const present = await presentAtEnd(base, 'timeouts', [...tally.acked]);
      rows.push({ backend, pattern: 'protocol+timeouts', tally, present });
      process.stdout.write(report(rows[rows.length - 1]) + '\n');
    }
    // app+stall: the server paused for 2 s in the middle; then with the strict reading.
    await stallPattern(backend, server, 'app+stall', false, rows, connections);
    await stallPattern(backend, server, 'app+stall strict', true, rows, connections);
    // persister (control, no timeouts) and persister+timeouts.
    await persisterPattern(backend, base, 'persister', 30_000, false, rows, connections);
    await persisterPattern(backend, base, 'persister+timeouts', 15, false, rows, connections);
    await persisterPattern(backend, base, 'persister+to strict', 15, true, rows, connections);
  } finally {
    try {
      process.kill(server.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    await server.stop();
    current = undefined;
  }
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'tally-bench-loss-'));
  const rows: Row[] = [];
  const started = Date.now();
  process.stdout.write(
    `mongo-emulator-loss: ${WORKERS} concurrent deliveries of 100-300 events (~30% redelivered), ` +
      `${SECONDS} s per pattern, backends ${BACKENDS.join(', ')}\n`,
  );
  try {
    for (const backend of BACKENDS) await runBackend(backend, stateDir, rows);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  const lostByServer = rows
    .filter((r) => r.pattern.startsWith('protocol'))
    .reduce((n, r) => n + r.tally.acked.size - r.present, 0);
  const lostByApp = rows
    .filter((r) => r.pattern.startsWith('app') || r.pattern.startsWith('persister'))
    .reduce((n, r) => n + r.tally.acked.size - r.present, 0);
  process.stdout.write(
    `server-acknowledged inserts lost: ${lostByServer}; ` +
      `inserts the app's insertMarked reported written and the server does not hold: ${lostByApp} ` +
      `; counters minus stored events after the persister pattern: ${counterDrift.join(', ')} ` +
      `(${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
  );
}

// Stops by itself even if a pattern hangs.
const watchdog = setTimeout(() => {
  process.stderr.write('mongo-emulator-loss: over 150 s, giving up\n');
  if (current) {
    for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(current.pid, signal);
      } catch {
        /* gone */
      }
    }
  }
  process.exit(2);
}, 150_000);
watchdog.unref();

main()
  .then(() => process.exit(0))
  .catch((error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  });
