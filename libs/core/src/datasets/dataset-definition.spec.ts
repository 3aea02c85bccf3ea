import { datasetBuckets, datasetWindow, onGrid, parseDatasetBody } from './dataset-definition';

const NOW = new Date(Date.UTC(2026, 10, 29, 15, 30));
const query = (extra: Record<string, unknown> = {}) => ({
  analysis_type: 'count',
  event_collection: 'signups',
  interval: 'daily',
  timeframe: 'this_40_days',
  timezone: 'America/New_York',
  ...extra,
});

describe('dataset definitions', () => {
  it('keeps what was sent and the collection apart; one index property becomes a list', () => {
    const d = parseDatasetBody('p', 'by-team', { query: query(), index_by: 'team' }, NOW);
    expect(d).toMatchObject({
      projectId: 'p',
      name: 'by-team',
      displayName: 'by-team',
      indexBy: ['team'],
      collection: 'signups',
      query: query(),
    });
  });

  it('buckets are whole local days, 23 and 25 hours long across DST, inside the window', () => {
    const d = parseDatasetBody('p', 'x', { query: query(), index_by: 'team' }, NOW);
    const window = datasetWindow(d, NOW.getTime());
    // this_40_days in New York: 40 local days ending at the start of tomorrow.
    expect(new Date(window.end).toISOString()).toBe('2026-11-30T05:00:00.000Z');
    const buckets = datasetBuckets(d, window.start, window.end, window);
    expect(buckets).toHaveLength(40);
    const lengths = new Set(buckets.map((b) => (b.endMs - b.startMs) / 3_600_000));
    expect([...lengths].sort()).toEqual([24, 25]); // 1 Nov 2026: clocks went back
    expect(buckets.every((b) => onGrid(d, b.startMs) && onGrid(d, b.endMs))).toBe(true);
    // A change in one UTC hour marks the local day(s) it overlaps, clipped to the window.
    const hour = Date.UTC(2026, 10, 20, 4);
    expect(datasetBuckets(d, hour, hour + 3_600_000, window)).toEqual([
      { startMs: Date.UTC(2026, 10, 19, 5), endMs: Date.UTC(2026, 10, 20, 5) },
    ]);
    expect(datasetBuckets(d, 0, window.start, window)).toEqual([]);
  });

  it('a half-hour zone: a UTC hour overlaps two local days at its edge', () => {
    const d = parseDatasetBody(
      'p',
      'x',
      { query: query({ timezone: 'Asia/Kolkata' }), index_by: 'team' },
      NOW,
    );
    const window = datasetWindow(d, NOW.getTime());
    const hour = Date.UTC(2026, 10, 20, 18);
    expect(
      datasetBuckets(d, hour, hour + 3_600_000, window).map((b) =>
        new Date(b.startMs).toISOString(),
      ),
    ).toEqual(['2026-11-19T18:30:00.000Z', '2026-11-20T18:30:00.000Z']);
  });

  it.each([
    [{ query: query({ interval: undefined }), index_by: 't' }, 'needs an "interval"'],
    [{ query: query({ interval: 'minutely' }), index_by: 't' }, 'needs an "interval"'],
    [{ query: query({ timeframe: 'this_6_hours' }), index_by: 't' }, 'does not start on a bucket'],
    [
      { query: query({ timeframe: 'previous_3_weeks', interval: 'monthly' }), index_by: 't' },
      'does not start on a bucket',
    ],
    [{ query: query({ analysis_type: 'extraction' }), index_by: 't' }, 'is not one'],
    [{ query: query({ group_by: 't' }), index_by: 't' }, 'in both'],
    [{ query: query(), index_by: ['a', 'a'] }, 'twice'],
    [{ query: query(), index_by: 'a..b' }, 'must not be empty'],
    [{ query: query(), index_by: Array(6).fill('x') }, '1 to 5'],
    [{ query: query(), index_by: 't', display_name: '' }, '"display_name"'],
  ])('refuses %j', (body, message) => {
    expect(() => parseDatasetBody('p', 'x', body, NOW)).toThrow(message);
  });

  it('refuses a window that is on the grid only at the moment it is defined, whatever that moment', () => {
    // this_7_hours in UTC starts on a day exactly while the clock reads 06:xx.
    const sixish = new Date(Date.UTC(2026, 10, 30, 6, 30));
    const hourly = { query: query({ timeframe: 'this_7_hours', timezone: 'UTC' }), index_by: 't' };
    expect(() => parseDatasetBody('p', 'x', hourly, sixish)).toThrow('does not start on a bucket');
    // this_N_days with daily buckets is on the grid at every hour of the day, DST days included.
    for (let hour = 0; hour < 24; hour++) {
      const at = new Date(Date.UTC(2026, 2, 8, hour, 59));
      expect(parseDatasetBody('p', 'x', { query: query(), index_by: 't' }, at).name).toBe('x');
    }
  });

  it('refuses odd names', () => {
    for (const name of ['', '-x', 'a b', 'x'.repeat(101), '__proto__']) {
      expect(() => parseDatasetBody('p', name, { query: query(), index_by: 't' }, NOW)).toThrow(
        /dataset name/,
      );
    }
  });
});
