import { TallyError } from '@app/events';
import { parseTimeframe, resolveTimeframe, TimeRange } from './timeframe';
import { parseTimezone } from './timezone';

const iso = (r: TimeRange | undefined) =>
  r && { start: new Date(r.start).toISOString(), end: new Date(r.end).toISOString() };

const resolve = (tf: unknown, tz: unknown, now: string) => {
  const zone = parseTimezone(tz);
  return iso(resolveTimeframe(parseTimeframe(tf, zone), zone, new Date(now)));
};

describe('parseTimezone', () => {
  it('reads seconds (number or text) and IANA names', () => {
    expect(parseTimezone(undefined)).toBe('UTC');
    expect(parseTimezone(0)).toBe('UTC');
    expect(parseTimezone(-28800)).toBe('UTC-8');
    expect(parseTimezone('19800')).toBe('UTC+5:30');
    expect(parseTimezone('US/Pacific')).toBe('US/Pacific');
    expect(parseTimezone('Asia/Kolkata')).toBe('Asia/Kolkata');
  });

  it.each(['Mars/Olympus', '99999999', true, '+5h'])('rejects %j naming timezone', (v) => {
    expect(() => parseTimezone(v)).toThrow(/timezone/);
  });
});

describe('parseTimeframe', () => {
  it('reads relative names in every form', () => {
    expect(parseTimeframe('this_7_days', 'UTC')).toMatchObject({
      edge: 'this',
      count: 7,
      unit: 'day',
    });
    expect(parseTimeframe('previous_1_week', 'UTC')).toMatchObject({
      edge: 'previous',
      count: 1,
      unit: 'week',
    });
    expect(parseTimeframe('this_month', 'UTC')).toMatchObject({
      edge: 'this',
      count: 1,
      unit: 'month',
    });
    expect(parseTimeframe('previous_minute', 'UTC')).toMatchObject({
      edge: 'previous',
      count: 1,
      unit: 'minute',
    });
    expect(parseTimeframe('today', 'UTC')).toMatchObject({ edge: 'this', count: 1, unit: 'day' });
    expect(parseTimeframe('yesterday', 'UTC')).toMatchObject({
      edge: 'previous',
      count: 1,
      unit: 'day',
    });
  });

  it('reads absolute timeframes as objects or JSON text; offset-less bounds in the timezone', () => {
    const obj = { start: '2024-01-01T00:00:00.000Z', end: '2024-01-02T00:00:00.000Z' };
    expect(parseTimeframe(obj, 'UTC')).toEqual(parseTimeframe(JSON.stringify(obj), 'UTC'));
    expect(
      parseTimeframe({ start: '2024-01-01T00:00:00', end: '2024-01-02' }, 'America/New_York'),
    ).toMatchObject({
      start: Date.UTC(2024, 0, 1, 5),
      end: Date.UTC(2024, 0, 2, 5),
    });
  });

  it.each([
    ['this_0_days', 'timeframe'],
    ['last_week', 'timeframe'],
    ['this_7_fortnights', 'timeframe'],
    [{ start: '2024-01-02' }, 'timeframe.end'],
    [{ start: 'soon', end: '2024-01-02' }, 'timeframe.start'],
    [{ start: '2024-01-03', end: '2024-01-02' }, 'timeframe.start'],
    ['{"start":', 'timeframe'],
    [42, 'timeframe'],
  ])('rejects %j naming %s', (v, naming) => {
    try {
      parseTimeframe(v, 'UTC');
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(TallyError);
      expect((e as TallyError).errorCode).toBe('TimeframeDefinitionError');
      expect((e as TallyError).message).toContain(naming);
    }
  });
});

describe('resolveTimeframe', () => {
  it('is undefined (all time) without a timeframe', () => {
    expect(resolveTimeframe(undefined, 'UTC', new Date())).toBeUndefined();
  });

  it('this_N includes the current unit; previous_N ends where it starts', () => {
    const now = '2024-05-15T10:20:30.000Z'; // a Wednesday
    expect(resolve('this_3_days', 0, now)).toEqual({
      start: '2024-05-13T00:00:00.000Z',
      end: '2024-05-16T00:00:00.000Z',
    });
    expect(resolve('previous_3_days', 0, now)).toEqual({
      start: '2024-05-12T00:00:00.000Z',
      end: '2024-05-15T00:00:00.000Z',
    });
    expect(resolve('this_hour', 0, now)).toEqual({
      start: '2024-05-15T10:00:00.000Z',
      end: '2024-05-15T11:00:00.000Z',
    });
    expect(resolve('previous_2_minutes', 0, now)).toEqual({
      start: '2024-05-15T10:18:00.000Z',
      end: '2024-05-15T10:20:00.000Z',
    });
    expect(resolve('this_year', 0, now)).toEqual({
      start: '2024-01-01T00:00:00.000Z',
      end: '2025-01-01T00:00:00.000Z',
    });
    expect(resolve('previous_month', 0, now)).toEqual({
      start: '2024-04-01T00:00:00.000Z',
      end: '2024-05-01T00:00:00.000Z',
    });
  });

  it('starts weeks on Sunday', () => {
    expect(resolve('this_week', 0, '2024-05-15T10:00:00Z')).toEqual({
      start: '2024-05-12T00:00:00.000Z',
      end: '2024-05-19T00:00:00.000Z',
    });
    // On a Sunday the week is that Sunday.
    expect(resolve('previous_week', 0, '2024-05-12T00:00:00Z')).toEqual({
      start: '2024-05-05T00:00:00.000Z',
      end: '2024-05-12T00:00:00.000Z',
    });
  });

  it('uses fixed offsets: local midnight shown in UTC', () => {
    expect(resolve('today', -25200, '2024-05-15T03:00:00Z')).toEqual({
      start: '2024-05-14T07:00:00.000Z',
      end: '2024-05-15T07:00:00.000Z',
    });
  });

  it('America/New_York: days across the March and November DST changes are 23 h and 25 h', () => {
    // 2024-03-10 02:00 EST → 03:00 EDT
    expect(resolve('yesterday', 'America/New_York', '2024-03-11T12:00:00Z')).toEqual({
      start: '2024-03-10T05:00:00.000Z',
      end: '2024-03-11T04:00:00.000Z',
    });
    // 2024-11-03 02:00 EDT → 01:00 EST
    expect(resolve('yesterday', 'America/New_York', '2024-11-04T12:00:00Z')).toEqual({
      start: '2024-11-03T04:00:00.000Z',
      end: '2024-11-04T05:00:00.000Z',
    });
    expect(resolve('this_3_days', 'America/New_York', '2024-03-11T12:00:00Z')).toEqual({
      start: '2024-03-09T05:00:00.000Z',
      end: '2024-03-12T04:00:00.000Z',
    });
  });

  it('America/New_York: a week and a month containing a DST change', () => {
    expect(resolve('previous_week', 'America/New_York', '2024-03-18T12:00:00Z')).toEqual({
      start: '2024-03-10T05:00:00.000Z',
      end: '2024-03-17T04:00:00.000Z',
    });
    expect(resolve('previous_month', 'America/New_York', '2024-12-05T12:00:00Z')).toEqual({
      start: '2024-11-01T04:00:00.000Z',
      end: '2024-12-01T05:00:00.000Z',
    });
  });

  it('Europe/London: BST starts 31 March 2024', () => {
    expect(resolve('previous_2_days', 'Europe/London', '2024-04-01T12:00:00Z')).toEqual({
      start: '2024-03-30T00:00:00.000Z',
      end: '2024-03-31T23:00:00.000Z',
    });
    expect(resolve('this_month', 'Europe/London', '2024-04-10T00:00:00Z')).toEqual({
      start: '2024-03-31T23:00:00.000Z',
      end: '2024-04-30T23:00:00.000Z',
    });
  });

  it('Asia/Kolkata (+5:30): hours and days on the half-hour', () => {
    expect(resolve('today', 'Asia/Kolkata', '2024-05-15T20:00:00Z')).toEqual({
      start: '2024-05-15T18:30:00.000Z',
      end: '2024-05-16T18:30:00.000Z',
    });
    expect(resolve('this_hour', 'Asia/Kolkata', '2024-05-15T20:10:00Z')).toEqual({
      start: '2024-05-15T19:30:00.000Z',
      end: '2024-05-15T20:30:00.000Z',
    });
  });

  it('Australia/Lord_Howe: half-hour DST (+11 → +10:30 on 7 April 2024)', () => {
    expect(resolve('yesterday', 'Australia/Lord_Howe', '2024-04-08T00:00:00Z')).toEqual({
      start: '2024-04-06T13:00:00.000Z',
      end: '2024-04-07T13:30:00.000Z',
    });
  });
});
