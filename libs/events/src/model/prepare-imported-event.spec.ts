import { prepareImportedEvent } from './prepare-imported-event';

const options = { maxEventBytes: 1024, importedAt: Date.UTC(2025, 0, 2, 3, 4, 5) };
const ID = '65f0b2c0a1b2c3d4e5f60718';

describe('prepareImportedEvent', () => {
  it('keeps keen.id, keen.timestamp and keen.created_at of an exported event exactly', () => {
    const body = {
      plan: 'pro',
      user: { id: 7 },
      keen: {
        timestamp: '2024-03-12T20:00:00.000Z',
        created_at: '2024-03-12T20:00:01.500Z',
        id: ID,
      },
    };
    expect(prepareImportedEvent('signups', body, options)).toEqual({
      collection: 'signups',
      id: ID,
      timestamp: Date.UTC(2024, 2, 12, 20),
      event: body,
    });
  });

  it('writes timestamps in canonical form and fills a missing created_at with the import time', () => {
    const prepared = prepareImportedEvent(
      'c',
      { keen: { id: ID, timestamp: '2024-03-12T22:00:00+02:00' } },
      options,
    );
    expect(prepared.timestamp).toBe(Date.UTC(2024, 2, 12, 20));
    expect(prepared.event).toEqual({
      keen: {
        id: ID,
        timestamp: '2024-03-12T20:00:00.000Z',
        created_at: '2025-01-02T03:04:05.000Z',
      },
    });
  });

  it.each([
    [{ n: 1 }, /keen\.id/],
    [{ keen: { id: 'ABCDEF0123456789abcdef01', timestamp: '2024-01-01T00:00:00Z' } }, /keen\.id/],
    [{ keen: { id: ID.slice(1), timestamp: '2024-01-01T00:00:00Z' } }, /keen\.id/],
    [{ keen: { id: ID } }, /keen\.timestamp/],
    [{ keen: { id: ID, timestamp: 'yesterday' } }, /keen\.timestamp/],
    [{ keen: { id: ID, timestamp: '2024-01-01T00:00:00Z', created_at: 5 } }, /keen\.created_at/],
    [{ 'a.b': 1, keen: { id: ID, timestamp: '2024-01-01T00:00:00Z' } }, /Property name "a\.b"/],
    [{ keen: { id: ID, timestamp: '2024-01-01T00:00:00Z', other: 1 } }, /keen\.other/],
    [
      { big: 'x'.repeat(2000), keen: { id: ID, timestamp: '2024-01-01T00:00:00Z' } },
      /limit is 1024 bytes/,
    ],
    [[1, 2], /JSON object/],
  ])('refuses case %#', (body, message) => {
    expect(() => prepareImportedEvent('c', body, options)).toThrow(message);
  });
});
