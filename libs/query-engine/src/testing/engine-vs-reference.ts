import { TallyError } from '@app/events';
import fc from 'fast-check';
import { executeQuery } from '../engine/execute-query';
import { EventSource } from '../event-source.port';
import { parseQuery } from '../parse/parse-query';
import { GeneratedEvent, scenarioArb } from './event-arbitraries';
import { InMemoryEventSource } from './in-memory-event-source';
import { anyQueryArb, asQueryString, GeneratedQuery } from './query-arbitraries';
import { CollectionData, referenceEvaluate, ReferenceLimitError } from './reference-evaluator';
import { expectSameAnswer } from './same-answer';

/** Puts generated events into a store for `projectId` and returns it as an EventSource. */
export type LoadEvents = (projectId: string, events: GeneratedEvent[]) => Promise<EventSource>;

export const loadInMemory =
  (pageSize = 1000): LoadEvents =>
  async (projectId, events) => {
    const source = new InMemoryEventSource({ pageSize });
    for (const { collection, stored } of events) source.add(projectId, collection, [stored]);
    return source;
  };

/**
 * Runs one generated query through parseQuery (as GET or POST) and the engine
 * over `source`, and through the reference evaluator over the plain events;
 * throws when they differ. The only accepted failure is the bucket limit,
 * which both sides must hit.
 */
export async function checkAgainstReference(
  source: EventSource,
  projectId: string,
  events: GeneratedEvent[],
  q: GeneratedQuery,
  now: Date,
  viaGet: boolean,
): Promise<void> {
  const query = parseQuery(q.analysis, viaGet ? asQueryString(q.params) : q.params);
  const data: CollectionData = {};
  for (const { collection, stored } of events) (data[collection] ??= []).push(stored);
  let engine: unknown;
  let engineError: unknown;
  try {
    engine = await executeQuery(query, source, { projectId, now });
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
    if (!(referenceError instanceof ReferenceLimitError)) throw engineError ?? referenceError;
    if (
      !(engineError instanceof TallyError) ||
      engineError.errorCode !== 'QueryLimitExceededError'
    ) {
      throw new Error(
        `reference hit the bucket limit but the engine answered: ${String(engineError)}`,
      );
    }
    return;
  }
  expectSameAnswer(engine, reference);
}

export interface ReferencePropertyOptions {
  /** Defaults to env FC_SEED, else a fixed seed, so runs are reproducible. */
  seed?: number;
  numRuns?: number;
  projectId?: string;
}

/**
 * The engine-equals-reference property over any store: the contract suite
 * passes a loader for its real store. Prints the seed when it fails.
 */
export async function assertEngineMatchesReference(
  load: LoadEvents,
  options: ReferencePropertyOptions = {},
): Promise<void> {
  const seed =
    options.seed ?? (process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20_240_310);
  const numRuns = options.numRuns ?? Number(process.env.FC_RUNS ?? 600);
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb,
        anyQueryArb,
        fc.boolean(),
        async ({ events, now }, q, viaGet) => {
          // A fresh project per run keeps runs independent in a persistent store.
          const projectId = `${options.projectId ?? 'prop'}-${seed}-${run++}`;
          const source = await load(projectId, events);
          await checkAgainstReference(source, projectId, events, q, now, viaGet);
        },
      ),
      { seed, numRuns },
    );
  } catch (e) {
    console.error(`engine/reference property failed; reproduce with FC_SEED=${seed}`);
    throw e;
  }
}
