import { TallyError } from '@app/events';
import { executeQuery, Filter, parseQuery, Query, QueryResponse } from '@app/query-engine';
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
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StoredEvent } from '@app/events';
import { SqliteChangeFeed } from '../sqlite/sqlite-change-feed';
import { SqliteDatabase } from '../sqlite/sqlite-database';
import { SqliteEventStore } from '../sqlite/sqlite-event.store';
import { ColumnarCopy } from './columnar-copy';
import { DuckdbQueryEngine } from './duckdb-query-engine';
import { literalRegex } from './sql-filters';

/**
 * The compiled path's proof: for generated events and queries (the same
 * generators the engine is checked with, testing/engine-vs-reference.ts), the
 * answer through DuckDB when the query compiles, else through executeQuery,
 * must equal the reference evaluator's. Also measures which share of each
 * analysis type compiled, and holds that share: a query that should compile
 * (see mustCompile) and declines fails the property with its reason.
 */

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20_251_129;
const RUNS = Number(process.env.FC_RUNS ?? 400);

/**
 * Where the compiled answers come from: the engine over a table it is handed
 * events for, and the standalone store's path (events inserted into SQLite,
 * the columnar copy following them through its change feed, the copy's
 * answer() as QueryService calls it).
 */
interface CompiledTarget {
  load(projectId: string, collection: string, events: StoredEvent[]): Promise<void>;
  answer(query: Query, projectId: string, now: Date, onDecline: (r: string) => void): Promise<QueryResponse | undefined>;
  close(): Promise<void>;
}

async function engineTarget(): Promise<CompiledTarget> {
  const engine = await DuckdbQueryEngine.open({ threads: 1 });
  return {
    load: (projectId, collection, events) => engine.append(projectId, collection, events),
    answer: (query, projectId, now, onDecline) => engine.compiledQuery(query, { projectId, now, onDecline }),
    close: async () => engine.close(),
  };
}

async function storeTarget(): Promise<CompiledTarget> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-compiled-store-'));
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  const store = new SqliteEventStore(db);
  const copy = await ColumnarCopy.open(new SqliteChangeFeed(db), { path: path.join(dir, 'columnar.duckdb') });
  return {
    load: async (projectId, collection, events) => {
      await store.insert(projectId, events.map((e) => ({ ...e, collection })));
    },
    answer: async (query, projectId, now, onDecline) => {
      const answer = await copy.answer(projectId, query, { limits: {}, now });
      if ('response' in answer) return answer.response;
      onDecline(answer.declined);
      return undefined;
    },
    close: async () => {
      await copy.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const TARGETS: [string, () => Promise<CompiledTarget>, number][] = [
  ['the DuckDB engine', engineTarget, RUNS],
  // As many runs: with the same seed, the same queries, so every operator reaches the copy too.
  ['the standalone store (SQLite + columnar copy)', storeTarget, RUNS],
];

const COMPILED_OPERATORS = new Set([
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'exists',
  'in',
  'contains',
  'not_contains',
]);

/** Filters the compiler must take: every operator but within, and regex on plain literals, on any path. */
function compilableFilter(f: Filter): boolean {
  if (f.operator === 'or') return (f.operands ?? []).every(compilableFilter);
  if (f.operator === 'regex') {
    return typeof f.property_value === 'string' && literalRegex(f.property_value) !== undefined;
  }
  return COMPILED_OPERATORS.has(f.operator);
}

/** Metric, multi_analysis and extraction queries with such filters: a decline here is a regression. */
function mustCompile(query: Query): boolean {
  if (query.analysis_type === 'funnel') return false;
  return query.filters.every(compilableFilter);
}

/** The operators of a filter list, `or` and its operands' included. */
function operatorsOf(filters: readonly Filter[], into: Set<string>): Set<string> {
  for (const f of filters) {
    into.add(f.operator);
    if (f.operator === 'or') operatorsOf(f.operands ?? [], into);
  }
  return into;
}

interface Share {
  total: number;
  compiled: number;
}

describe.each(TARGETS)('compiled path of %s against the reference evaluator', (_name, open, RUNS) => {
  let target: CompiledTarget;
  beforeAll(async () => {
    target = await open();
  });
  afterAll(() => target.close());

  it(`answers every generated query as the reference does (${RUNS} runs)`, async () => {
    const started = Date.now();
    const shares = new Map<string, Share>();
    const reasons = new Map<string, number>();
    let run = 0;
    let mustCompileCount = 0;
    // Operators seen in answers DuckDB gave: each one the compiler takes must be among them.
    const compiledOperators = new Set<string>();
    try {
      await fc.assert(
        fc.asyncProperty(scenarioArb, anyQueryArb, fc.boolean(), async ({ events, now }, q, viaGet) => {
          const projectId = `p${run++}`;
          const data: CollectionData = {};
          for (const { collection, stored } of events) (data[collection] ??= []).push(stored);
          const memory = new InMemoryEventSource({ pageSize: 7 });
          for (const [collection, stored] of Object.entries(data)) {
            await target.load(projectId, collection, stored);
            memory.add(projectId, collection, stored);
          }
          const query = parseQuery(q.analysis, viaGet ? asQueryString(q.params) : q.params);

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
            let reason = '';
            answer = await target.answer(query, projectId, now, (r) => (reason = r));
            const share = shares.get(query.analysis_type) ?? { total: 0, compiled: 0 };
            shares.set(query.analysis_type, share);
            share.total++;
            if (referenceError === undefined && mustCompile(query)) {
              mustCompileCount++;
              if (answer === undefined) throw new Error(`declined a query that must compile: ${reason}`);
            }
            if (reason.startsWith('compiler fault') || reason.startsWith('DuckDB failed')) {
              throw new Error(`declined by a fault: ${reason}`);
            }
            if (answer !== undefined) {
              share.compiled++;
              if (query.analysis_type !== 'funnel') operatorsOf(query.filters, compiledOperators);
            } else {
              const short = reason.replace(/^(\S+ \S+).*$/, '$1…');
              reasons.set(short, (reasons.get(short) ?? 0) + 1);
              answer = await executeQuery(query, memory, { projectId, now });
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
              throw new Error(`reference hit the bucket limit but the answer was ${String(answerError)}`);
            }
            return;
          }
          expectSameAnswer(answer, reference);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    } catch (e) {
      console.error(`compiled/reference property failed; reproduce with FC_SEED=${SEED}`);
      throw e;
    }

    const lines = [...shares.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([type, s]) => `${type.padEnd(20)} ${s.compiled}/${s.total} (${Math.round((100 * s.compiled) / s.total)}%)`);
    const declines = [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => `  ${n} × ${r}`);
    console.log(
      `compiled share (seed ${SEED}, ${RUNS} runs, ${Date.now() - started} ms):\n${lines.join('\n')}\n` +
        `queries without within or non-literal regex (funnels aside), all compiled: ${mustCompileCount}\ndeclines:\n${declines.join('\n')}`,
    );
    // The must-compile rule above is only a guard if it meets many queries.
    expect(mustCompileCount).toBeGreaterThan(RUNS / 5);
    // Every operator the compiler takes was served by DuckDB at least once
    // (regex as a plain literal), not only through the fallback.
    expect([...compiledOperators].filter((o) => o !== 'within').sort()).toEqual(
      [...COMPILED_OPERATORS, 'or', 'regex'].sort(),
    );
    expect(compiledOperators.has('within')).toBe(false);
    expect(shares.get('funnel')?.compiled ?? 0).toBe(0);
  }, 30_000 + RUNS * 150);
});
