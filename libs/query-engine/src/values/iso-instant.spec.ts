import { parseIsoInstant } from './iso-instant';

describe('parseIsoInstant', () => {
  it.each([
    ['2024-03-10T12:00:00.000Z', Date.UTC(2024, 2, 10, 12)],
    ['2024-03-10T12:00:00Z', Date.UTC(2024, 2, 10, 12)],
    ['2024-03-10T12:00Z', Date.UTC(2024, 2, 10, 12)],
    ['2024-03-10 12:00:00', Date.UTC(2024, 2, 10, 12)],
    ['2024-03-10', Date.UTC(2024, 2, 10)],
    ['2024-03-10T08:00:00-04:00', Date.UTC(2024, 2, 10, 12)],
    ['2024-03-10T17:30:00+0530', Date.UTC(2024, 2, 10, 12)],
    ['2024-03-10T12:00:00.123456Z', Date.UTC(2024, 2, 10, 12, 0, 0, 123)],
    ['0050-01-01T00:00:00Z', -60589296000000],
  ])('parses %s', (s, t) => {
    expect(parseIsoInstant(s)).toBe(t);
  });

  it.each([
    '2024',
    'hello world',
    '2024-13-01',
    '2023-02-29',
    '2024-03-10T25:00',
    '2024-03-10T12:00:00Zjunk',
    '12345678901',
  ])('rejects %s', (s) => {
    expect(parseIsoInstant(s)).toBeUndefined();
  });
});
