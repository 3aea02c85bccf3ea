import { DateTime } from 'luxon';
import { dateTimeParser } from './date-time-parser.addon';

describe('keen:date_time_parser', () => {
  it('splits a UTC timestamp into Keen’s eleven parts', () => {
    // 2024-03-09 is a Saturday in ISO week 10.
    expect(dateTimeParser('2024-03-09T17:45:30.250Z')).toEqual({
      millisecond: 250,
      second: 30,
      minute: 45,
      hour: 17,
      day_of_week: 6,
      day_of_week_string: 'Saturday',
      day_of_month: 9,
      week: 10,
      month: 3,
      year: 2024,
      timezone_offset: 0,
    });
  });

  it('reads the parts in the date-time’s own offset and reports the offset in hours', () => {
    expect(dateTimeParser('2024-12-30T23:30:00-05:30')).toMatchObject({
      hour: 23,
      minute: 30,
      day_of_month: 30,
      day_of_week: 1,
      day_of_week_string: 'Monday',
      // 2024-12-30 belongs to ISO week 1 of 2025.
      week: 1,
      month: 12,
      year: 2024,
      timezone_offset: -5.5,
    });
    // No offset: UTC, as keen.timestamp is read.
    expect(dateTimeParser('2023-01-01T00:00:00')).toMatchObject({ day_of_week_string: 'Sunday', week: 52, timezone_offset: 0 });
  });

  it('adds nothing for what is not an ISO-8601 date-time', () => {
    for (const value of ['yesterday', '', '2024-13-01T00:00:00Z', '2024-05-01T12:00:00+99:00', 1714560000000, null]) {
      expect(dateTimeParser(value)).toBeUndefined();
    }
  });

  it('agrees with luxon on the parts of date-times across years, offsets and ISO-week edges', () => {
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 500; i++) {
      const ms = Math.floor(-62_000_000_000_000 + next() * 312_000_000_000_000);
      const offset = Math.round((next() * 28 - 14) * 4) * 15 || 0;
      const at = DateTime.fromMillis(ms, { zone: 'utc' }).setZone(offset === 0 ? 'utc' : `UTC${offset < 0 ? '-' : '+'}${Math.floor(Math.abs(offset) / 60)}:${String(Math.abs(offset) % 60).padStart(2, '0')}`);
      const text = at.toISO()!;
      expect({ text, parts: dateTimeParser(text) }).toEqual({
        text,
        parts: {
          millisecond: at.millisecond,
          second: at.second,
          minute: at.minute,
          hour: at.hour,
          day_of_week: at.weekday,
          day_of_week_string: at.setLocale('en').weekdayLong,
          day_of_month: at.day,
          week: at.weekNumber,
          month: at.month,
          year: at.year,
          timezone_offset: offset / 60,
        },
      });
    }
  });
});
