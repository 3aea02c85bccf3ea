import { PropertyType } from '@app/schema';
import { markerTime, writeMarker } from '../../ports/write-marker';
import { Guards, PropertyKinds, SchemaView } from './mongo-guards';

const NOW = Date.UTC(2026, 10, 30, 12);
const since = markerTime(NOW - 60_000);
const numbersOnly: PropertyKinds = () => new Set<PropertyType>(['num']);
const withStrings: PropertyKinds = () => new Set<PropertyType>(['num', 'string']);
const isString = { $eq: [{ $type: '$e.seats' }, 'string'] };

/** Guards over `seats` (numbers only in the first read), with one trusted string test. */
function trustedGuards(view: SchemaView): Guards {
  const guards = new Guards(view);
  expect(guards.add('seats', ['string'], isString)).toBe(false);
  expect(guards.trusts()).toBe(true);
  return guards;
}

describe('Guards: which events may be uncounted, with markers kept on every event', () => {
  it('tests recent markers and the pending ones; a store without a pending list tests every marked event', () => {
    const pending = [writeMarker(NOW - 3_600_000, 'dead', 1)];
    const flag = (view: SchemaView) => (trustedGuards(view).flag() as { $cond: unknown[] }).$cond[0];
    expect(flag({ kinds: numbersOnly, markers: { pending: [], since } })).toEqual({
      $gte: ['$m', since],
    });
    expect(flag({ kinds: numbersOnly, markers: { pending, since } })).toEqual({
      $or: [{ $gte: ['$m', since] }, { $in: ['$m', pending] }],
    });
    expect(flag({ kinds: numbersOnly })).toEqual({ $gt: ['$m', null] });

    const match = (view: SchemaView) =>
      trustedGuards(view).keep({ 'e.seats': { $gt: 4 } }, [], [{ 'e.seats': { $type: 'string' } }]);
    expect(match({ kinds: numbersOnly, markers: { pending, since } })).toEqual({
      $or: [
        { 'e.seats': { $gt: 4 } },
        {
          $and: [
            { $or: [{ m: { $gte: since } }, { m: { $in: pending } }] },
            { 'e.seats': { $type: 'string' } },
          ],
        },
      ],
    });
  });

  it('the read after the pipeline: a new type, or a new pending marker older than the cutoff, voids the answer', () => {
    const first = [writeMarker(NOW - 3_600_000, 'dead', 1)];
    const view: SchemaView = { kinds: numbersOnly, markers: { pending: first, since } };
    const later = (kinds: PropertyKinds, pending: string[]): SchemaView => ({
      kinds,
      markers: { pending, since: markerTime(NOW) },
    });
    // Nothing new, or only markers recent enough to have been tested in the pipeline.
    expect(trustedGuards(view).changed(later(numbersOnly, first))).toBe(false);
    expect(trustedGuards(view).changed(later(numbersOnly, []))).toBe(false);
    const recent = writeMarker(NOW - 1_000, 'live', 7);
    expect(trustedGuards(view).changed(later(numbersOnly, [...first, recent]))).toBe(false);
    // Applied while the pipeline ran: its type shows in the counters.
    expect(trustedGuards(view).changed(later(withStrings, []))).toBe(true);
    // Registered after the first read by a worker whose clock is minutes behind: still pending.
    const behind = writeMarker(NOW - 300_000, 'slow', 3);
    expect(trustedGuards(view).changed(later(numbersOnly, [behind]))).toBe(true);
  });

  it('trusts nothing to the counters when they show the type: no marker test at all', () => {
    const guards = new Guards({ kinds: withStrings, markers: { pending: [], since } });
    expect(guards.add('seats', ['string'], isString)).toBe(true);
    expect(guards.trusts()).toBe(false);
    expect(JSON.stringify(guards.flag())).not.toContain('$m');
  });
});
