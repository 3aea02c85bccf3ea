import fc from 'fast-check';
import { markerTime, writeMarker } from './write-marker';

describe('write markers', () => {
  it('compare with a cutoff as the times their attempts began', () => {
    const ms = fc.integer({ min: 0, max: Date.UTC(5000, 0, 1) });
    const processId = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 12, maxLength: 12 });
    fc.assert(
      fc.property(ms, ms, processId, fc.nat(), (began, cutoff, pid, seq) => {
        const marker = writeMarker(began, pid, seq);
        expect(marker >= markerTime(cutoff)).toBe(began >= cutoff);
      }),
      { numRuns: 5000 },
    );
  });

  it('keep their order between attempts, whatever the process and sequence', () => {
    const ms = fc.integer({ min: 0, max: Date.UTC(5000, 0, 1) });
    const processId = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 12, maxLength: 12 });
    fc.assert(
      fc.property(ms, ms, processId, processId, fc.nat(), fc.nat(), (a, b, p, q, i, j) => {
        fc.pre(a < b);
        expect(writeMarker(a, p, i) < writeMarker(b, q, j)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('spell the time at a fixed width', () => {
    expect(markerTime(0)).toBe('000000000');
    expect(markerTime(Date.UTC(2026, 10, 30))).toHaveLength(9);
    expect(writeMarker(Date.UTC(2026, 10, 30), 'abcdef012345', 7)).toMatch(/^[0-9a-z]{9}\.abcdef012345\.7$/);
  });
});
