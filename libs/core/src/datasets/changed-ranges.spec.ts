import { changedRanges } from './changed-ranges';

const H = 3_600_000;
const ev = (collection: string, timestamp: number) => ({
  collection,
  id: `${collection}${timestamp}`,
  timestamp,
  event: {},
});

describe('changedRanges', () => {
  it('covers every event with whole UTC hours, merging consecutive ones, per collection', () => {
    const t = Date.UTC(2026, 10, 29);
    expect(
      changedRanges([
        ev('a', t + 5),
        ev('a', t + H + 1),
        ev('a', t + 2 * H - 1),
        ev('a', t + 5 * H),
        ev('b', t + 3 * H + 10),
      ]),
    ).toEqual([
      { collection: 'a', fromMs: t, toMs: t + 2 * H },
      { collection: 'a', fromMs: t + 5 * H, toMs: t + 6 * H },
      { collection: 'b', fromMs: t + 3 * H, toMs: t + 4 * H },
    ]);
  });

  it('is empty for no events', () => {
    expect(changedRanges([])).toEqual([]);
  });
});
