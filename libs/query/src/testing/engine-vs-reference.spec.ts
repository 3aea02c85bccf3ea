import { TallyError } from '@app/events';
import fc from 'fast-check';
import { executeQuery } from '../engine/execute-query';
import { parseQuery } from '../parse/parse-query';
import { InMemoryEventSource } from './in-memory-event-source';
import { GeneratedEvent, scenarioArb } from './event-arbitraries';
import { anyQueryArb, asQueryString, GeneratedQuery } from './query-arbitraries';
import { CollectionData, referenceEvaluate, ReferenceLimitError } from './reference-evaluator';
import { expectSameAnswer } from './same-answer';

/** Reproduce a failure with FC_SEED=<seed> (fast-check also prints the path). */
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20_240_310;
const RUNS = Number(process.env.FC_RUNS ?? 600);

async function compare(
  { events, now }: { events: GeneratedEvent[]; now: Date },
  q: GeneratedQuery,
  viaGet: boolean,
  pageSize: number,
): Promise<void> {
  const query = parseQuery(q.analysis, viaGet ? asQueryString(q.params) : q.params);
  const data: CollectionData = {};
  const source = new InMemoryEventSource({ pageSize });
  for (const { collection, stored } of events) {
    (data[collection] ??= []).push(stored);
    source.add('p', collection, [stored]);
  }
  let engine: unknown;
  let engineError: unknown;
  try {
    engine = await executeQuery(query, source, { projectId: 'p', now });
  } catch (e) {
    engineError = e;
  }
  let reference: unknown;
  let referenceError: unknown;
  try {
    reference = referenceEvaluate(query, data, now);
  } catch (e) {
    referenceError = e;
  }
  if (engineError || referenceError) {
    // The only expected failure is the bucket limit, and both must hit it.
    if (!(referenceError instanceof ReferenceLimitError))
      throw referenceError ?? new Error('reference did not fail');
    expect(engineError).toBeInstanceOf(TallyError);
    expect((engineError as TallyError).errorCode).toBe('QueryLimitExceededError');
    return;
  }
  expectSameAnswer(engine, reference);
}

describe('engine equals the reference evaluator (property-based)', () => {
  it(`agrees on generated events and queries (FC_SEED=${SEED}, runs=${RUNS})`, async () => {
    try {
      await fc.assert(
        fc.asyncProperty(
          scenarioArb,
          anyQueryArb,
          fc.boolean(),
          fc.integer({ min: 1, max: 9 }),
          compare,
        ),
        { seed: SEED, numRuns: RUNS },
      );
    } catch (e) {
      console.error(`Property failed; reproduce with FC_SEED=${SEED}`);
      throw e;
    }
  }, 120_000);
});
