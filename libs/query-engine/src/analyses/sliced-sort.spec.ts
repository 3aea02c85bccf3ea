import fc from 'fast-check';
import { compareJson } from '../values/total-order';
import { Pacer } from './accumulator';
import { slicedArray, slicedSort } from './sliced-sort';

function eagerPacer(): Pacer & { pauses: number } {
  const pacer = {
    pauses: 0,
    due: () => true,
    pause: async () => {
      pacer.pauses++;
    },
  };
  return pacer;
}

describe('slicedSort', () => {
  it('sorts like Array.prototype.sort, stably, across run boundaries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 5000 }),
        async (keys) => {
          const items = keys.map((k, i) => ({ k, i }));
          const byKey = (a: { k: number }, b: { k: number }) => a.k - b.k;
          const expected = [...items].sort(byKey);
          expect(await slicedSort([...items], byKey, eagerPacer())).toEqual(expected);
        },
      ),
      { seed: Number(process.env.FC_SEED ?? 3), numRuns: Number(process.env.FC_RUNS ?? 100) },
    );
  });

  it('orders 50,000 JSON values by the total order, pausing between runs and merges', async () => {
    const values = Array.from({ length: 50_000 }, (_, i) =>
      i % 4 === 0 ? i : i % 4 === 1 ? `s${i}` : i % 4 === 2 ? [i % 7] : { x: i % 11 },
    );
    const pacer = eagerPacer();
    const sorted = await slicedSort(await slicedArray(values, pacer), compareJson, pacer);
    expect(sorted).toEqual([...values].sort(compareJson));
    expect(pacer.pauses).toBeGreaterThan(49); // one per run of 1024 at least
  });
});
