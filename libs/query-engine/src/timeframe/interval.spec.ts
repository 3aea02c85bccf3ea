import { TallyError } from '@app/events';
import { bucketEdges, bucketIndex, parseInterval } from './interval';
import { parseTimeframe, resolveTimeframe } from './timeframe';

const edgesOf = (tf: unknown, interval: string, tz: string, now = '2024-01-01T00:00:00Z') => {
  const range = resolveTimeframe(parseTimeframe(tf, tz), tz, new Date(now))!;
  return bucketEdges(range, parseInterval(interval)!, tz, 2500).map((t) =>
    new Date(t).toISOString(),
  );
};

describe('parseInterval', () => {
  it('reads named and every_N intervals', () => {
    expect(parseInterval('daily')).toMatchObject({ unit: 'day', count: 1 });
    expect(parseInterval('every_15_minutes')).toMatchObject({ unit: 'minute', count: 15 });
    expect(parseInterval('every_2_week')).toMatchObject({ unit: 'week', count: 2 });
    expect(parseInterval(undefined)).toBeUndefined();
  });

  it.each(['fortnightly', 'every_0_days', 'every_days', 5])('rejects %j naming interval', (v) => {
    expect(() => parseInterval(v)).toThrow(/interval/);
  });
});

describe('bucketEdges', () => {
  it('daily buckets stay on New York midnight across the March change', () => {
    const tf = { start: '2024-03-09T00:00:00', end: '2024-03-12T00:00:00' };
    expect(edgesOf(tf, 'daily', 'America/New_York')).toEqual([
      '2024-03-09T05:00:00.000Z',
      '2024-03-10T05:00:00.000Z',
      '2024-03-11T04:00:00.000Z',
      '2024-03-12T04:00:00.000Z',
    ]);
  });

  it('daily buckets across the November change include a 25-hour day', () => {
    const tf = { start: '2024-11-02T00:00:00', end: '2024-11-05T00:00:00' };
    expect(edgesOf(tf, 'daily', 'America/New_York')).toEqual([
      '2024-11-02T04:00:00.000Z',
      '2024-11-03T04:00:00.000Z',
      '2024-11-04T05:00:00.000Z',
      '2024-11-05T05:00:00.000Z',
    ]);
  });

  it('hourly buckets are real hours through the repeated hour', () => {
    const tf = { start: '2024-11-03T00:00:00-04:00', end: '2024-11-03T03:00:00-05:00' };
    expect(edgesOf(tf, 'hourly', 'America/New_York')).toHaveLength(5);
  });

  it('weekly buckets from a relative timeframe start on Sunday (Europe/London, BST start)', () => {
    expect(edgesOf('previous_2_weeks', 'weekly', 'Europe/London', '2024-04-10T12:00:00Z')).toEqual([
      '2024-03-24T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z', // BST begins at 01:00 that Sunday
      '2024-04-06T23:00:00.000Z',
    ]);
  });

  it('monthly buckets in New York around both DST changes, and from the 31st without drift', () => {
    expect(
      edgesOf({ start: '2024-02-01', end: '2024-04-01' }, 'monthly', 'America/New_York'),
    ).toEqual(['2024-02-01T05:00:00.000Z', '2024-03-01T05:00:00.000Z', '2024-04-01T04:00:00.000Z']);
    expect(
      edgesOf({ start: '2024-01-31T00:00:00Z', end: '2024-04-30T00:00:00Z' }, 'monthly', 'UTC'),
    ).toEqual([
      '2024-01-31T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z',
      '2024-04-30T00:00:00.000Z',
    ]);
  });

  it('Asia/Kolkata daily buckets start at 18:30Z', () => {
    expect(edgesOf('previous_2_days', 'daily', 'Asia/Kolkata', '2024-05-15T20:00:00Z')).toEqual([
      '2024-05-13T18:30:00.000Z',
      '2024-05-14T18:30:00.000Z',
      '2024-05-15T18:30:00.000Z',
    ]);
  });

  it('Australia/Lord_Howe daily buckets across the half-hour change (23.5 h day)', () => {
    expect(
      edgesOf(
        { start: '2024-04-06T00:00:00', end: '2024-04-09T00:00:00' },
        'daily',
        'Australia/Lord_Howe',
      ),
    ).toEqual([
      '2024-04-05T13:00:00.000Z',
      '2024-04-06T13:00:00.000Z',
      '2024-04-07T13:30:00.000Z',
      '2024-04-08T13:30:00.000Z',
    ]);
  });

  it('Australia/Lord_Howe weekly and monthly buckets across the October change (+10:30 → +11)', () => {
    expect(
      edgesOf(
        { start: '2024-09-29T00:00:00', end: '2024-10-13T00:00:00' },
        'weekly',
        'Australia/Lord_Howe',
      ),
    ).toEqual(['2024-09-28T13:30:00.000Z', '2024-10-05T13:30:00.000Z', '2024-10-12T13:00:00.000Z']);
    expect(
      edgesOf(
        { start: '2024-09-01T00:00:00', end: '2024-11-01T00:00:00' },
        'monthly',
        'Australia/Lord_Howe',
      ),
    ).toEqual(['2024-08-31T13:30:00.000Z', '2024-09-30T13:30:00.000Z', '2024-10-31T13:00:00.000Z']);
  });

  it('clips the last bucket to the timeframe end', () => {
    expect(
      edgesOf({ start: '2024-01-01T00:00:00Z', end: '2024-01-02T12:00:00Z' }, 'daily', 'UTC'),
    ).toEqual(['2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z', '2024-01-02T12:00:00.000Z']);
  });

  it('refuses more than the bucket limit, naming it', () => {
    try {
      edgesOf('previous_3000_days', 'daily', 'UTC');
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(TallyError);
      expect((e as TallyError).message).toContain('2500 buckets');
    }
    expect(edgesOf('previous_2500_days', 'daily', 'UTC')).toHaveLength(2501);
  });

  it('bucketIndex finds the half-open bucket', () => {
    const edges = [0, 10, 20, 30];
    expect([-1, 0, 9, 10, 29, 30].map((t) => bucketIndex(edges, t))).toEqual([-1, 0, 0, 1, 2, -1]);
  });
});
