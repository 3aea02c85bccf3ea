/**
 * Cassandra claims: how many ids a second the store can claim (decide, exactly
 * once across deliveries, which write stored each id), by layout.
 * Run: `npm run bench -- cassandra-claims`
 * (BENCH_IDS, default 20000; BENCH_RUNS, 3; CASSANDRA_CONTACT_POINTS to reuse a node.)
 *
 * The same fresh keen.ids (one time window) each way, written by concurrent
 * writers, as the worker's writes arrive:
 *   - Tally: CassandraEventWriter.claimAll, conditional batches per claim
 *     partition of `event_claims` (claimPartition: window and 4 slots);
 *   - per id: one `INSERT ... IF NOT EXISTS` per id into `events_by_id`, a
 *     partition per id (the layout before migration 3);
 *   - slots S: the same conditional batches with the id's hash cut into S slots
 *     instead of 4 (the trade-off between rounds per write and writers meeting
 *     on one partition's Paxos state).
 * Three shapes of load: 4 writers of 500 ids, 16 of 100, 32 of 20.
 */
import { CollectionEvent, deriveEventId } from '@app/events';
import {
  CassandraEventStore,
  CassandraEventWriter,
  chunks,
  claimPartition,
} from '@app/storage/cassandra';
import { startTestCassandra } from '@app/storage/cassandra/testing';
import { rawCassandraClient } from './support/cassandra-native';
import { median } from './support/load';
import { fmt, lanes } from './support/timing';

const IDS = Number(process.env.BENCH_IDS || 20_000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const SHAPES = [
  { writers: 4, perWrite: 500 },
  { writers: 16, perWrite: 100 },
  { writers: 32, perWrite: 20 },
];
const SLOTS = [1, 8, 16, 64];

function freshEvents(tag: string): CollectionEvent[] {
  const t0 = Date.now();
  return Array.from({ length: IDS }, (_, index) => {
    const timestamp = t0 + Math.floor(index / 10);
    const id = deriveEventId('bench', {
      projectId: 'bench',
      collection: 'claims',
      requestId: tag,
      index,
      content: '',
      timestamp,
    });
    return { collection: 'claims', id, timestamp, event: {} };
  });
}

interface Outcome {
  idsPerSecond: number;
  rounds: number;
  timeouts: number;
}

async function main(): Promise<void> {
  const server = await startTestCassandra();
  const keyspace = `tally_claims_${Date.now().toString(36)}`;
  const store = new CassandraEventStore({ contactPoints: server.contactPoints, keyspace });
  await store.init();
  const client = rawCassandraClient(server.contactPoints, keyspace);
  await client.execute(`CREATE TABLE IF NOT EXISTS slot_claims (
    project text, slot int, id text, claim text, PRIMARY KEY ((project, slot), id))`);
  const bucketOf = (ts: number) => store.bucketOf(ts);
  const writer = new CassandraEventWriter(client, bucketOf, 64, 64);
  const perId =
    'INSERT INTO events_by_id (project, id, collection, bucket, ts, claim) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS';
  const slotted =
    'INSERT INTO slot_claims (project, slot, id, claim) VALUES (?, ?, ?, ?) IF NOT EXISTS';

  const ways: Array<{
    name: string;
    write: (project: string, ids: CollectionEvent[]) => Promise<number>;
  }> = [
    {
      name: 'Tally: claimAll (event_claims, 4 slots)',
      write: async (project, events) => {
        const won = await writer.claimAll(project, events, 'bench');
        if (won.size !== events.length) throw new Error('claimAll lost a fresh id');
        const perPartition = new Map<string, number>();
        for (const e of events) {
          const part = claimPartition(e.id);
          perPartition.set(part, (perPartition.get(part) ?? 0) + 1);
        }
        return [...perPartition.values()].reduce((a, n) => a + Math.ceil(n / 100), 0);
      },
    },
    {
      name: 'per id: one LWT each (events_by_id)',
      write: async (project, events) => {
        await lanes(events, 64, async (e) => {
          const rs = await client.execute(perId, [
            project,
            e.id,
            e.collection,
            new Date(bucketOf(e.timestamp)),
            new Date(e.timestamp),
            'bench',
          ]);
          if (!rs.wasApplied()) throw new Error('a fresh id was taken');
        });
        return events.length;
      },
    },
    ...SLOTS.map((slots) => ({
      name: `slots ${slots}: conditional batch per slot`,
      write: async (project: string, events: CollectionEvent[]) => {
        const bySlot = new Map<number, string[]>();
        for (const e of events) {
          const slot = parseInt(e.id.slice(8, 14), 16) % slots;
          bySlot.set(slot, [...(bySlot.get(slot) ?? []), e.id]);
        }
        let rounds = 0;
        await lanes([...bySlot], 64, async ([slot, ids]) => {
          for (const batch of chunks(ids, 100)) {
            rounds++;
            await client.batch(
              batch.map((id) => ({ query: slotted, params: [project, slot, id, 'bench'] })),
              { prepare: true },
            );
          }
        });
        return rounds;
      },
    })),
  ];

  const table: string[] = [];
  for (const shape of SHAPES) {
    const results = new Map<string, Outcome[]>();
    for (let run = 0; run < RUNS; run++) {
      // Ways in turn within a run, so each meets the node in the same state.
      for (const way of ways) {
        const project = `p${run}_${shape.writers}_${ways.indexOf(way)}`;
        const writes = chunks(freshEvents(project), shape.perWrite);
        let rounds = 0;
        let timeouts = 0;
        const t0 = performance.now();
        await lanes(writes, shape.writers, async (events) => {
          for (let attempt = 1; ; attempt++) {
            try {
              const added = await way.write(project, events);
              rounds += added;
              return;
            } catch (error) {
              // A Paxos round that timed out under contention: counted, and the write sent again.
              if (attempt >= 5 || !/timeout|timed out/i.test(String(error))) throw error;
              timeouts++;
            }
          }
        });
        const ms = performance.now() - t0;
        const outcome = { idsPerSecond: IDS / (ms / 1000), rounds, timeouts };
        results.set(way.name, [...(results.get(way.name) ?? []), outcome]);
        console.log(
          `${shape.writers}x${shape.perWrite} run ${run + 1} ${way.name}: ${fmt(Math.round(outcome.idsPerSecond))} ids/s, ${rounds} rounds, ${timeouts} timeouts`,
        );
      }
    }
    const base = median(results.get(ways[1].name)!.map((o) => o.idsPerSecond));
    for (const [name, outcomes] of results) {
      const rate = median(outcomes.map((o) => o.idsPerSecond));
      table.push(
        `| ${shape.writers} × ${shape.perWrite} | ${name} | ${fmt(Math.round(rate))} | ${(rate / base).toFixed(2)} | ${median(outcomes.map((o) => o.rounds))} | ${outcomes.reduce((a, o) => a + o.timeouts, 0)} |`,
      );
    }
  }
  console.log(`\ncassandra-claims: ${fmt(IDS)} fresh ids per run, ${RUNS} runs, medians\n`);
  console.log(
    '| writers × ids per write | claims | ids/s | vs one LWT per id | Paxos rounds | timeouts (all runs) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const line of table) console.log(line);
  await client.shutdown();
  await store.close();
  await server.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
