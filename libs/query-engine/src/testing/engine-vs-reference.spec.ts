import fc from 'fast-check';
import { anyQueryArb } from './query-arbitraries';
import { scenarioArb } from './event-arbitraries';
import {
  assertEngineMatchesReference,
  checkAgainstReference,
  loadInMemory,
} from './engine-vs-reference';

describe('engine equals the reference evaluator (property-based; FC_SEED, FC_RUNS)', () => {
  it('over the in-memory store with 1000-event pages', async () => {
    await assertEngineMatchesReference(loadInMemory());
  }, 120_000);

  it('over tiny pages (1–9 events), so page boundaries fall everywhere', async () => {
    const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 7;
    await fc.assert(
      fc.asyncProperty(
        scenarioArb,
        anyQueryArb,
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        async ({ events, now }, q, viaGet, pageSize) => {
          const source = await loadInMemory(pageSize)('p', events);
          await checkAgainstReference(source, 'p', events, q, now, viaGet);
        },
      ),
      { seed, numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  }, 120_000);
});
