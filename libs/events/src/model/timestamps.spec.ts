import fc from 'fast-check';
import { parseCanonicalIso, toIso } from './timestamps';

const MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A string of `n` decimal digits. */
const digitString = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));

describe('parseCanonicalIso', () => {
  it('reads back every instant toIso() prints, over the years a store holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_MS, max: MAX_MS }), (ms) => {
        expect(parseCanonicalIso(toIso(ms))).toBe(ms);
      }),
      { numRuns: 2000 },
    );
    for (const ms of [MIN_MS, MAX_MS, 0, -1, Date.parse('2000-02-29T12:00:00.000Z')])
      expect(parseCanonicalIso(toIso(ms))).toBe(ms);
  });

  it('is Date.parse for any canonical shape, and NaN for impossible dates', () => {
    // Digits anywhere: months 13-99, 30 February, hour 24... Date.parse is
    // the judge of a real date (it gives the string back), and year 0000 is
    // outside the range toIso() ever prints.
    const shaped = fc
      .tuple(...[4, 2, 2, 2, 2, 2, 3].map(digitString))
      .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
    fc.assert(
      fc.property(shaped, (s) => {
        const parsed = Date.parse(s);
        const real = !Number.isNaN(parsed) && new Date(parsed).toISOString() === s;
        expect(parseCanonicalIso(s)).toBe(real && !s.startsWith('0000') ? parsed : NaN);
      }),
      { numRuns: 5000 },
    );
  });

  it('is NaN for every other spelling', () => {
    for (const s of [
      '',
      '2020-01-02T03:04:05Z',
      '2020-01-02T03:04:05.000+00:00',
      '2020-01-02 03:04:05.000Z',
      '2020-01-02T03:04:05.000z',
      '+02020-01-02T03:04:05.00Z',
      '2020-1-02T03:04:05.0000Z',
      '2020-01-02T03:04:05,000Z',
      '2020-01-0aT03:04:05.000Z',
      '2021-02-29T00:00:00.000Z',
      '1900-02-29T00:00:00.000Z',
      '2020-04-31T00:00:00.000Z',
      '2020-01-02T24:00:00.000Z',
      '2020-01-02T23:60:00.000Z',
      '2020-01-02T23:59:60.000Z',
      '0000-01-01T00:00:00.000Z',
      '2020-00-10T00:00:00.000Z',
      '2020-01-00T00:00:00.000Z',
    ])
      expect(parseCanonicalIso(s)).toBeNaN();
    expect(parseCanonicalIso('2000-02-29T00:00:00.000Z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseCanonicalIso('0099-12-31T23:59:59.999Z')).toBe(
      Date.parse('0099-12-31T23:59:59.999Z'),
    );
  });
});
