import fc from 'fast-check';
import { prepareEvent, RequestOrigin } from './prepare-event';
import { prepareImportedEvent } from './prepare-imported-event';
import { storedEventOfBody } from './stored-body';

const options = { idSecret: 'secret', maxEventBytes: 4096 };
const origin: RequestOrigin = {
  projectId: 'p1',
  requestId: 'r1',
  receivedAt: Date.parse('2024-05-01T12:00:00Z'),
};
// A day inside the years a store holds, so that an offset cannot push a
// client's local time out of them.
const DAY = 86_400_000;
const MIN_MS = Date.parse('0001-01-01T00:00:00.000Z') + DAY;
const MAX_MS = Date.parse('9999-12-31T23:59:59.999Z') - DAY;

describe('storedEventOfBody', () => {
  it('gives back the id and timestamp prepareEvent stored beside every body it made', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN_MS, max: MAX_MS }),
        fc.constantFrom('Z', '+05:30', '-08:00', ''),
        (ms, offset) => {
          // The client's spelling varies (offsets, none); the stored one does not.
          const local = new Date(ms).toISOString().slice(0, 23);
          const e = prepareEvent(
            'c',
            { keen: { timestamp: `${local}${offset}` }, n: 1 },
            0,
            origin,
            options,
          );
          // The body goes through the store as JSON text.
          const body = JSON.parse(JSON.stringify(e.event));
          expect(storedEventOfBody(body)).toEqual({
            id: e.id,
            timestamp: e.timestamp,
            event: body,
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('does the same for imported events', () => {
    const e = prepareImportedEvent(
      'c',
      {
        keen: { timestamp: '2021-03-04T05:06:07.089+01:00', id: '0123456789abcdef01234567' },
        n: 2,
      },
      options,
    );
    expect(e.event.keen).toMatchObject({ timestamp: '2021-03-04T04:06:07.089Z' });
    expect(storedEventOfBody(e.event)).toEqual({
      id: e.id,
      timestamp: e.timestamp,
      event: e.event,
    });
  });

  it('reads an ISO-8601 timestamp in another spelling with the general parser', () => {
    const event = { keen: { id: 'x', timestamp: '2020-01-02T04:04:05+01:00' } };
    expect(storedEventOfBody(event)).toEqual({
      id: 'x',
      timestamp: Date.parse('2020-01-02T03:04:05.000Z'),
      event,
    });
  });

  it('reads the first and last instants a store can hold', () => {
    for (const iso of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'])
      expect(storedEventOfBody({ keen: { id: 'x', timestamp: iso } })?.timestamp).toBe(
        Date.parse(iso),
      );
  });

  it('is undefined for a body Tally did not write', () => {
    for (const event of [
      {},
      { keen: null },
      { keen: [] },
      { keen: 'x' },
      { keen: { timestamp: '2020-01-02T03:04:05.000Z' } },
      { keen: { id: 7, timestamp: '2020-01-02T03:04:05.000Z' } },
      { keen: { id: 'x' } },
      { keen: { id: 'x', timestamp: 1577934245000 } },
      { keen: { id: 'x', timestamp: 'yesterday' } },
      { keen: { id: 'x', timestamp: '2020-13-45T99:99:99.999Z' } },
    ])
      expect(storedEventOfBody(event as never)).toBeUndefined();
  });
});
