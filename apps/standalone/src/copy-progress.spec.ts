import { copyProgressReporter } from './copy-progress';

function harness(isTTY: boolean) {
  const lines: string[] = [];
  let drawn = '';
  let clock = 1_000;
  const report = copyProgressReporter(
    (m) => lines.push(m),
    { isTTY, write: (t: string) => (drawn += t) },
    () => clock,
  );
  return { lines, drawn: () => drawn, report, tick: (ms: number) => (clock += ms) };
}

describe('copyProgressReporter', () => {
  it('off a terminal: a line at the start, at every further tenth, and at the end', () => {
    const h = harness(false);
    h.report({ from: 0, at: 0, head: 100_000, done: false });
    for (const at of [10_000, 15_000, 20_000, 60_000, 99_999])
      h.report({ from: 0, at, head: 100_000, done: false });
    h.tick(2_500);
    h.report({ from: 0, at: 100_000, head: 100_000, done: true });
    expect(h.lines).toEqual([
      'columnar copy: catching up to row 100,000 of the stored events; until it has, queries take the TypeScript engine',
      'columnar copy: 10% (row 10,000 of 100,000)',
      'columnar copy: 20% (row 20,000 of 100,000)',
      'columnar copy: 60% (row 60,000 of 100,000)',
      'columnar copy: 90% (row 99,999 of 100,000)',
      'columnar copy: caught up to row 100,000 in 2.5 s',
    ]);
    expect(h.drawn()).toBe('');
  });

  it('says where a resumed fill starts, and counts its tenths from there', () => {
    const h = harness(false);
    h.report({ from: 40_000, at: 40_000, head: 140_000, done: false });
    h.report({ from: 40_000, at: 90_000, head: 140_000, done: false });
    h.report({ from: 40_000, at: 140_000, head: 140_000, done: true });
    expect(h.lines).toEqual([
      'columnar copy: catching up to row 140,000 of the stored events (resuming after row 40,000); until it has, queries take the TypeScript engine',
      'columnar copy: 50% (row 90,000 of 140,000)',
      'columnar copy: caught up to row 140,000 in 0.0 s',
    ]);
  });

  it('on a terminal: a bar on the stream instead of the tenths, and the same first and last lines', () => {
    const h = harness(true);
    h.report({ from: 0, at: 0, head: 50_000, done: false });
    h.report({ from: 0, at: 25_000, head: 50_000, done: false });
    h.report({ from: 0, at: 50_000, head: 50_000, done: true });
    expect(h.lines).toEqual([
      'columnar copy: catching up to row 50,000 of the stored events; until it has, queries take the TypeScript engine',
      'columnar copy: caught up to row 50,000 in 0.0 s',
    ]);
    expect(h.drawn()).toContain('columnar copy [');
    expect(h.drawn()).toContain('100% | 50000/50000 rows');
  });
});
