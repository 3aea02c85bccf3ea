/**
 * fast-check arbitraries for events: small value pools on purpose, because
 * collisions (equal groups, numeric strings, datetimes in several notations)
 * are where semantics bugs live. Timestamps cluster around instants next to
 * DST changes in the generated timezones.
 */
import { JsonObject, JsonValue, StoredEvent } from '@app/events';
import fc from 'fast-check';

/** Instants near DST changes in the generated zones; events cluster around them. */
export const NOW_CHOICES = [
  '2024-03-10T06:30:00.000Z', // New York spring forward day
  '2024-11-03T05:30:00.000Z', // New York fall back
  '2024-03-31T00:30:00.000Z', // London BST start
  '2024-04-07T14:10:00.000Z', // Lord Howe half-hour change
  '2024-10-06T12:00:00.000Z', // Lord Howe back to +11
  '2024-05-15T20:10:00.000Z', // Kolkata, no DST
];

export const COLLECTIONS = ['a', 'b'];

export const scalarArb: fc.Arbitrary<JsonValue> = fc.constantFrom<JsonValue>(
  0,
  1,
  2,
  -3,
  2.5,
  10,
  1e3,
  '1',
  '2.5',
  ' 7 ',
  '10',
  '9',
  '1e3',
  'a',
  'ab',
  'b',
  'B',
  '',
  'true',
  true,
  false,
  null,
  '2024-03-10',
  '2024-03-10T12:00:00Z',
  '2024-03-10T08:00:00-04:00',
  '2024-03-10T12:00:00.000Z',
  '2024-02-30',
  '2024-03-10 12:00',
  '2024-11-03T01:30:00-05:00',
);

const valueArb: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 6, arbitrary: scalarArb },
  { weight: 1, arbitrary: fc.array(scalarArb, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.record({ x: scalarArb }) },
);

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

export const strip = (o: Record<string, unknown>): JsonObject => {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as JsonValue;
  return out;
};

const bodyArb = fc
  .record({
    n: maybe(fc.oneof(fc.integer({ min: -5, max: 20 }), scalarArb)),
    s: maybe(scalarArb),
    tags: maybe(fc.array(scalarArb, { maxLength: 3 })),
    user: maybe(
      fc.record({
        id: maybe(fc.constantFrom<JsonValue>('u1', 'u2', 'u3', 'u4', 1, '1')),
        plan: maybe(scalarArb),
      }),
    ),
    o: maybe(valueArb),
    geo: maybe(fc.tuple(fc.integer({ min: -100, max: 100 }), fc.integer({ min: -100, max: 100 }))),
  })
  .map((r) =>
    strip({
      ...r,
      user: r.user && strip(r.user),
      geo: r.geo && [-122.4 + r.geo[0] / 50, 37.8 + r.geo[1] / 50],
    }),
  );

export interface GeneratedEvent {
  collection: string;
  stored: StoredEvent;
}

/**
 * Events around `anchor` (mostly) or another interesting instant: spread over
 * ~40 days before to 2 days after, with a dense cluster in the hours around
 * it so minute and hour timeframes see events too.
 */
export const eventsAroundArb = (anchor: string): fc.Arbitrary<GeneratedEvent[]> =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom(...COLLECTIONS),
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(anchor) },
          { weight: 1, arbitrary: fc.constantFrom(...NOW_CHOICES) },
        ),
        fc.oneof(
          fc.integer({ min: -40 * 24 * 60, max: 2 * 24 * 60 }),
          fc.integer({ min: -6 * 60, max: 2 * 60 }),
        ),
        fc.integer({ min: 0, max: 59_999 }),
        bodyArb,
      ),
      { minLength: 3, maxLength: 60 },
    )
    .map((rows) =>
      rows.map(([collection, at, minutes, ms, body], i) => {
        const timestamp = Date.parse(at) + minutes * 60_000 + (ms % 4 === 0 ? 0 : ms);
        const id = `e${String(i).padStart(4, '0')}`;
        const event = { ...body, keen: { id, timestamp: new Date(timestamp).toISOString() } };
        return { collection, stored: { id, timestamp, event } };
      }),
    );

export const eventsArb: fc.Arbitrary<GeneratedEvent[]> = fc
  .constantFrom(...NOW_CHOICES)
  .chain(eventsAroundArb);

export const nowNearArb = (anchor: string): fc.Arbitrary<Date> =>
  fc
    .integer({ min: -36 * 60, max: 36 * 60 })
    .map((minutes) => new Date(Date.parse(anchor) + minutes * 60_000));

export const nowArb: fc.Arbitrary<Date> = fc.constantFrom(...NOW_CHOICES).chain(nowNearArb);

/** Events and a "now" near the same instant, so relative timeframes usually see data. */
export const scenarioArb: fc.Arbitrary<{ events: GeneratedEvent[]; now: Date }> = fc
  .constantFrom(...NOW_CHOICES)
  .chain((anchor) => fc.record({ events: eventsAroundArb(anchor), now: nowNearArb(anchor) }));
