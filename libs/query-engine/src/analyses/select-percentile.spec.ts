import fc from 'fast-check';
import { Pacer, ValueBudget } from './accumulator';
import { PercentileAccumulator, percentileOf } from './percentile';
import { selectPercentile } from './select-percentile';

/** A pacer whose slice is always used up: every check point pauses, so every async path runs. */
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

const idle: Pacer = { due: () => false, pause: async () => undefined };
// -0 and 0 are the same JSON number; the sort and the selection may pick either.
const same = (a: number | null, b: number | null) => (a === null ? b === null : a === b);

describe('percentile by selection', () => {
  it('equals the sorted answer for any samples and percentile (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.integer({ min: -5, max: 5 }), // many duplicates
          ),
          { maxLength: 300 },
        ),
        fc.double({ min: 0, max: 100, noNaN: true }),
        async (values, p) => {
          const expected = percentileOf(values, p);
          const selected = await selectPercentile(
            Float64Array.from(values),
            values.length,
            p,
            idle,
          );
          expect(same(selected, expected)).toBe(true);
        },
      ),
      { seed: Number(process.env.FC_SEED ?? 5), numRuns: Number(process.env.FC_RUNS ?? 1000) },
    );
  });

  it('gives the same answer when it pauses at every check point, over 200,000 samples', async () => {
    let x = 12345;
    const values = Array.from({ length: 200_000 }, () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return (x % 10_000) / 7; // repeated values and a spread
    });
    // The pivot is random: one that lands next to the wanted rank can finish in
    // fewer steps than a check point. Middle pivots make every run long enough.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      for (const p of [0, 1, 33.3, 50, 90, 99.9, 100]) {
        const pacer = eagerPacer();
        const selected = await selectPercentile(Float64Array.from(values), values.length, p, pacer);
        expect(selected).toBe(percentileOf(values, p));
        expect(pacer.pauses).toBeGreaterThan(0);
      }
    } finally {
      random.mockRestore();
    }
  });

  it('handles sorted, reversed and constant input (no quadratic case to force)', async () => {
    const n = 100_001;
    const up = Float64Array.from({ length: n }, (_, i) => i);
    const down = Float64Array.from({ length: n }, (_, i) => n - i);
    const flat = new Float64Array(n).fill(7);
    expect(await selectPercentile(up, n, 50, idle)).toBe(50_000);
    expect(await selectPercentile(down, n, 50, idle)).toBe(50_001);
    expect(await selectPercentile(flat, n, 75, idle)).toBe(7);
    expect(await selectPercentile(new Float64Array(0), 0, 50, idle)).toBeNull();
  });

  it('the accumulator answers from finish() what result() alone would compute', async () => {
    const values = [5, 1, 4, 2, 3, 9, 8];
    const plain = new PercentileAccumulator(40, new ValueBudget(100));
    const finished = new PercentileAccumulator(40, new ValueBudget(100));
    for (const v of values) {
      plain.add(v);
      finished.add(v);
    }
    finished.add('not a number');
    await finished.finish(eagerPacer());
    expect(plain.result()).toBe(percentileOf(values, 40));
    expect(finished.result()).toBe(plain.result());
  });
});
