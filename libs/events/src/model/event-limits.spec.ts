import fc from 'fast-check';
import { JsonObject } from '../json.types';
import { assertStoredEventSize, assertStoredSize } from './event-limits';

/** The size check from the texts must agree with printing the stored event. */
function agrees(body: JsonObject, keen: JsonObject): void {
  const stored = Buffer.byteLength(JSON.stringify({ ...body, keen }));
  const fromTexts = (limit: number) => () =>
    assertStoredEventSize(body, JSON.stringify(body), JSON.stringify(keen), limit);
  expect(fromTexts(stored)).not.toThrow();
  expect(fromTexts(stored - 1)).toThrow(`Event is ${stored} bytes; the limit is ${stored - 1}`);
  expect(() => assertStoredSize({ ...body, keen }, stored - 1)).toThrow(`Event is ${stored} bytes`);
}

describe('stored event size', () => {
  const keen = {
    timestamp: '2026-11-29T10:00:00.000Z',
    created_at: '2026-11-29T10:00:00.001Z',
    id: 'x',
  };

  it('counts the keen object whether the body had one or not', () => {
    agrees({}, keen);
    agrees({ a: 1 }, keen);
    agrees({ keen: { timestamp: '2020-01-01T00:00:00Z' } }, keen);
    agrees({ a: 'é', keen: null as never, b: ['€', { c: '😀' }] }, keen);
    agrees({ keen: undefined as never }, keen);
    agrees({ a: undefined as never }, keen);
  });

  it('agrees with printing the event for any JSON body', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: undefined }),
        (body, clientKeen) => {
          const withKeen = clientKeen === undefined ? body : { ...body, keen: clientKeen };
          agrees(withKeen as JsonObject, { ...(clientKeen ?? {}), ...keen });
        },
      ),
      { numRuns: 300 },
    );
  });
});
