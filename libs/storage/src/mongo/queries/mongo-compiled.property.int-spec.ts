import { TallyError } from '@app/events';
import { executeQuery, parseQuery, Query, QueryResponse } from '@app/query-engine';
import {
  anyQueryArb,
  asQueryString,
  CollectionData,
  expectSameAnswer,
  InMemoryEventSource,
  referenceEvaluate,
  ReferenceLimitError,
  scenarioArb,
} from '@app/query-engine/testing';
import fc from 'fast-check';
import { MongoEventStore } from '../mongo-event.store';
import { MongoMetadataStore } from '../mongo-metadata.store';
import { mongoEventPersister } from '../testing/mongo-persister';
import { startTestMongo, TestMongo } from '../testing/test-mongo';
import { MongoCompiledQueries } from './mongo-compiled-queries';

/**
 * The MongoDB-compiled path's proof: for generated events and queries (the
 * generators the engine and the DuckDB path are checked with), the answer of
 * the aggregation pipeline when the query compiles and its events hold no
 * unsure value, else of executeQuery over the store's scan, equals the
 * reference evaluator's. Prints the share each analysis compiled and why the
 * others were declined; a decline by a compiler fault fails the property.
 */

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20_261_129;
const RUNS = Number(process.env.FC_RUNS ?? 150);

jest.setTimeout(60_000 + RUNS * 1_000);

describe('MongoDB-compiled queries against the reference evaluator', () => {
  let server: TestMongo;
  let store: MongoEventStore;
  let metadata: MongoMetadataStore;
  let compiled: MongoCompiledQueries;

  beforeAll(async () => {
    server = await startTestMongo();
    store = new MongoEventStore({ url: server.url, database: 'compiled_property' });
    metadata = new MongoMetadataStore({ url: server.url, database: 'compiled_property' });
    await Promise.all([store.init(), metadata.init()]);
    // As the query pool runs it: the schema counters decide which tests run on settled events.
    compiled = new MongoCompiledQueries(store, metadata);
  });
  afterAll(async () => {
    await store?.close();
    await metadata?.close();
    await server?.stop();
  });

  it(`answers every generated query as the reference does (${RUNS} runs)`, async () => {
    const shares = new Map<string, { total: number; compiled: number }>();
    const reasons = new Map<string, number>();
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          scenarioArb,
          anyQueryArb,
          fc.boolean(),
          fc.nat(),
          async ({ events, now }, q, viaGet, cut) => {
            const projectId = `p${run++}`;
            const data: CollectionData = {};
            for (const { collection, stored } of events) (data[collection] ??= []).push(stored);
            const memory = new InMemoryEventSource({ pageSize: 7 });
            for (const [collection, stored] of Object.entries(data))
              memory.add(projectId, collection, stored);
            // Events stored and counted by the worker's persister, then some
            // still under a delivery's marker (stored, counters not applied):
            // the schema counters cannot vouch for those.
            const all = events.map(({ collection, stored }) => ({ ...stored, collection }));
            const settled = all.slice(0, all.length - (cut % (all.length + 1)));
            if (settled.length > 0)
              await mongoEventPersister({ events: store, metadata }).persist(projectId, settled);
            const inflight = all.slice(settled.length);
            if (inflight.length > 0)
              await store.insertMarked(projectId, inflight, `pending-${projectId}`);
            // keen.id is the store's _id, unique across projects: each run leaves none behind.
            try {
              await check(
                projectId,
                data,
                now,
                parseQuery(q.analysis, viaGet ? asQueryString(q.params) : q.params),
              );
            } finally {
              for (const collection of Object.keys(data))
                await store.dropCollection(projectId, collection);
            }
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    } catch (e) {
      console.error(`MongoDB compiled/reference property failed; reproduce with FC_SEED=${SEED}`);
      throw e;
    }
    const lines = [...shares.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([type, s]) => `${type.padEnd(20)} ${s.compiled}/${s.total}`);
    const declines = [...reasons.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `  ${n} × ${r}`);
    console.log(
      `MongoDB compiled share (seed ${SEED}, ${RUNS} runs):\n${lines.join('\n')}\ndeclines:\n${declines.join('\n')}`,
    );
    const total = [...shares.values()].reduce((n, s) => n + s.compiled, 0);
    expect(total).toBeGreaterThan(RUNS / 5);

    async function check(
      projectId: string,
      data: CollectionData,
      now: Date,
      query: Query,
    ): Promise<void> {
      let reference: QueryResponse | undefined;
      let referenceError: unknown;
      try {
        reference = referenceEvaluate(query, data, now);
      } catch (e) {
        referenceError = e;
      }

      let answer: QueryResponse | undefined;
      let answerError: unknown;
      try {
        const got = await compiled.answer(projectId, query, { limits: {}, now });
        const share = shares.get(query.analysis_type) ?? { total: 0, compiled: 0 };
        shares.set(query.analysis_type, share);
        share.total++;
        if ('response' in got) {
          share.compiled++;
          answer = got.response;
        } else {
          if (got.declined.startsWith('compiler fault'))
            throw new Error(`declined by a fault: ${got.declined}`);
          const short = got.declined.replace(/^(\S+ \S+ \S+).*$/, '$1…');
          reasons.set(short, (reasons.get(short) ?? 0) + 1);
          answer = await executeQuery(query, store, { projectId, now });
        }
      } catch (e) {
        answerError = e;
      }

      if (referenceError !== undefined || answerError !== undefined) {
        if (!(referenceError instanceof ReferenceLimitError)) throw answerError ?? referenceError;
        if (
          !(answerError instanceof TallyError) ||
          answerError.errorCode !== 'QueryLimitExceededError'
        ) {
          throw new Error(
            `reference hit the bucket limit but the answer was ${String(answerError)}`,
          );
        }
        return;
      }
      expectSameAnswer(answer, reference);
    }
  });
});
