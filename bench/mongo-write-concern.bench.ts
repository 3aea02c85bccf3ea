/**
 * The cost of the MongoDB write concern (MONGO_WRITE_CONCERN, MONGO_JOURNAL) on
 * the worker's write: the marker protocol (register, insert, read back, counter
 * update, clear) for 500-event batches, with `{w: 1, journal: false}` and with
 * the default `{w: 'majority', journal: true}`, alternating batches so machine
 * noise hits both, on the project's Mongo-wire server (H2 file backend, as the
 * stack runs it). The server is not mongod: it acknowledges every concern the
 * same way, so this measures the client side only; on a mongod replica set the
 * majority/journal wait adds about one journal commit (up to 100 ms by default,
 * less under load) and one replication round trip per write.
 * Run: `npm run bench -- mongo-write-concern` (figures in docs/benchmarks-split.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEvent } from '@app/events';
import { MongoConnection, MongoEventStore, MongoMetadataStore } from '@app/storage/mongo';
import { mongoEventPersister } from '@app/storage/mongo/testing';
import { freePorts, mongoService } from '@tools/stack';
import { median } from './support/load';
import { fmt, rate, timed } from './support/timing';

const BATCHES = Number(process.env.BENCH_BATCHES || 40);
const BATCH = Number(process.env.BENCH_BATCH_EVENTS || 500);

function batchOf(tag: string, n: number): CollectionEvent[] {
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, i) => {
    const id = `${tag}-${i}`;
    const timestamp = t0 + i * 1000;
    return {
      id,
      collection: 'wc',
      timestamp,
      event: {
        n: i,
        user: { id: `u${i % 50}`, plan: i % 3 ? 'free' : 'pro' },
        keen: { id, timestamp: new Date(timestamp).toISOString() },
      },
    };
  });
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'tally-bench-wc-'));
  const [port] = await freePorts(1);
  const server = await mongoService.start({ name: 'mongo', port, stateDir, backend: 'h2' });
  const url = mongoService.mongoUrl(port);
  const contenders = (
    [
      ['w:1, journal:false', { w: 1, journal: false }],
      ["w:'majority', journal:true (default)", { w: 'majority', journal: true }],
    ] as const
  ).map(([name, writeConcern], k) => {
    const connection = new MongoConnection({ url, database: `wc${k}`, writeConcern });
    const events = new MongoEventStore({ connection });
    const metadata = new MongoMetadataStore({ connection });
    return { name, connection, events, metadata, persister: mongoEventPersister({ events, metadata }), times: [] as number[] };
  });
  try {
    for (const c of contenders) await Promise.all([c.events.init(), c.metadata.init()]);
    for (let b = 0; b < BATCHES; b++) {
      for (const c of contenders) {
        const batch = batchOf(`${c.connection.options.database}-${b}`, BATCH);
        c.times.push(await timed(() => c.persister.persist('bench', batch)));
      }
    }
    const [loose, strict] = contenders.map((c) => median(c.times.slice(2)));
    process.stdout.write(
      `mongo-write-concern: ${BATCHES} batches of ${BATCH} events through the marker protocol, median per batch\n` +
        `  ${contenders[0].name}: ${loose.toFixed(1)} ms (${fmt(rate(BATCH, loose))} events/s)\n` +
        `  ${contenders[1].name}: ${strict.toFixed(1)} ms (${fmt(rate(BATCH, strict))} events/s)\n` +
        `  ratio default/loose: ${(strict / loose).toFixed(2)}\n`,
    );
  } finally {
    for (const c of contenders) await c.connection.close();
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
