import { TallyError } from '../errors';
import { prepareEvent, RequestOrigin } from './prepare-event';
import { deriveEventId } from './event-id';

const options = { idSecret: 'secret', maxEventBytes: 1024 };
const origin: RequestOrigin = {
  projectId: 'p1',
  requestId: 'r1',
  receivedAt: Date.parse('2024-05-01T12:00:00Z'),
};

function errorOf(fn: () => unknown): TallyError {
  try {
    fn();
  } catch (error) {
    return error as TallyError;
  }
  throw new Error('expected an error');
}

describe('prepareEvent', () => {
  it('fills keen.timestamp, created_at and a 24-hex id, keeping the body', () => {
    const e = prepareEvent('purchases', { price: 3, user: { id: 'u' } }, 0, origin, options);
    expect(e.collection).toBe('purchases');
    expect(e.id).toMatch(/^[0-9a-f]{24}$/);
    expect(e.timestamp).toBe(origin.receivedAt);
    expect(e.event).toEqual({
      price: 3,
      user: { id: 'u' },
      keen: {
        timestamp: '2024-05-01T12:00:00.000Z',
        created_at: '2024-05-01T12:00:00.000Z',
        id: e.id,
      },
    });
  });

  it('keeps a client timestamp, reading one without offset as UTC', () => {
    const e = prepareEvent('c', { keen: { timestamp: '2020-01-02T03:04:05' } }, 0, origin, options);
    expect(e.event.keen).toMatchObject({ timestamp: '2020-01-02T03:04:05.000Z' });
    const f = prepareEvent(
      'c',
      { keen: { timestamp: '2020-01-02T03:04:05+02:00' } },
      0,
      origin,
      options,
    );
    expect(f.timestamp).toBe(Date.parse('2020-01-02T01:04:05Z'));
  });

  it('derives the same ids for a replayed request and different ids otherwise', () => {
    const a = prepareEvent('c', { n: 1 }, 3, origin, options);
    const replay = prepareEvent(
      'c',
      { n: 1 },
      3,
      { ...origin, receivedAt: origin.receivedAt },
      options,
    );
    expect(replay.id).toBe(a.id);
    expect(prepareEvent('c', { n: 1 }, 4, origin, options).id).not.toBe(a.id);
    expect(prepareEvent('c', { n: 1 }, 3, { ...origin, requestId: 'r2' }, options).id).not.toBe(
      a.id,
    );
    expect(prepareEvent('d', { n: 1 }, 3, origin, options).id).not.toBe(a.id);
    expect(prepareEvent('c', { n: 1 }, 3, origin, { ...options, idSecret: 'other' }).id).not.toBe(
      a.id,
    );
  });

  it('never merges different events under one reused request id, and gives a retry the same id', () => {
    const first = prepareEvent('c', { item: 'a' }, 0, origin, options);
    const other = prepareEvent('c', { item: 'b' }, 0, origin, options);
    const retry = prepareEvent('c', { item: 'a' }, 0, { ...origin }, options);
    expect(other.id).not.toBe(first.id);
    expect(retry.id).toBe(first.id);
  });

  it('gives a retry under a client-chosen id the same id whenever it arrives, unless the event has its own time', () => {
    const client: RequestOrigin = { ...origin, requestId: 'client:x', clientChosenId: true };
    const first = prepareEvent('c', { n: 1 }, 0, client, options);
    const later = prepareEvent(
      'c',
      { n: 1 },
      0,
      { ...client, receivedAt: client.receivedAt + 5_000 },
      options,
    );
    expect(later.id).toBe(first.id);
    expect(prepareEvent('c', { n: 2 }, 0, client, options).id).not.toBe(first.id);
    // Without a client id (edge or none), ids keep their time-ordered prefix.
    const edge = prepareEvent('c', { n: 1 }, 0, origin, options);
    expect(edge.id.slice(0, 8)).toBe(Math.floor(origin.receivedAt / 1000).toString(16));
    const timed = prepareEvent(
      'c',
      { n: 1, keen: { timestamp: '2024-01-01T00:00:00Z' } },
      0,
      client,
      options,
    );
    expect(timed.id.slice(0, 8)).toBe(
      Math.floor(Date.parse('2024-01-01T00:00:00Z') / 1000).toString(16),
    );
  });

  it('refuses __proto__ anywhere in an event, naming it, and keeps constructor as data', () => {
    const top = errorOf(() =>
      prepareEvent('c', JSON.parse('{"__proto__":{"x":1}}'), 0, origin, options),
    );
    expect(top.errorCode).toBe('InvalidPropertyNameError');
    expect(top.message).toContain('"__proto__"');
    const nested = errorOf(() =>
      prepareEvent('c', JSON.parse('{"a":{"__proto__":1}}'), 0, origin, options),
    );
    expect(nested.message).toContain('a.__proto__');
    const ok = prepareEvent(
      'c',
      { constructor: 1, toString: 'x', prototype: { valueOf: 2 } },
      0,
      origin,
      options,
    );
    expect(ok.event.constructor).toBe(1);
    expect(JSON.parse(JSON.stringify(ok.event))).toMatchObject({
      constructor: 1,
      toString: 'x',
      prototype: { valueOf: 2 },
    });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses a keen.timestamp offset beyond ±18:00 or a year beyond 9999', () => {
    const at = (timestamp: string) =>
      prepareEvent('c', { keen: { timestamp } }, 0, origin, options);
    expect(errorOf(() => at('2024-05-01T12:00:00+99:00')).errorCode).toBe(
      'InvalidPropertyValueError',
    );
    expect(errorOf(() => at('2024-05-01T12:00:00-19:00')).errorCode).toBe(
      'InvalidPropertyValueError',
    );
    expect(errorOf(() => at('+275760-09-13T00:00:00Z')).errorCode).toBe(
      'InvalidPropertyValueError',
    );
    expect(at('2024-05-01T12:00:00+14:00').timestamp).toBe(Date.parse('2024-04-30T22:00:00Z'));
    expect(at('2024-05-01T12:00:00-0330').timestamp).toBe(Date.parse('2024-05-01T15:30:00Z'));
  });

  it('gives ids a time-ordered prefix', () => {
    const early = deriveEventId('s', {
      projectId: 'p',
      collection: 'c',
      requestId: 'z',
      index: 0,
      content: '{}',
      timestamp: 1_000_000,
    });
    const late = deriveEventId('s', {
      projectId: 'p',
      collection: 'c',
      requestId: 'a',
      index: 0,
      content: '{}',
      timestamp: 2_000_000,
    });
    expect(early < late).toBe(true);
  });

  it('names an invalid property by its path', () => {
    const dotted = errorOf(() => prepareEvent('c', { a: { 'b.c': 1 } }, 0, origin, options));
    expect(dotted.errorCode).toBe('InvalidPropertyNameError');
    expect(dotted.message).toContain('a.b.c');
    const dollar = errorOf(() => prepareEvent('c', { $x: 1 }, 0, origin, options));
    expect(dollar.message).toContain('$x');
    const long = errorOf(() => prepareEvent('c', { ['x'.repeat(257)]: 1 }, 0, origin, options));
    expect(long.kind).toBe('invalid');
    const inList = errorOf(() => prepareEvent('c', { l: [{ $bad: 1 }] }, 0, origin, options));
    expect(inList.message).toContain('$bad');
  });

  it('rejects non-objects, bad keen values and oversize events', () => {
    expect(errorOf(() => prepareEvent('c', [1], 0, origin, options)).errorCode).toBe(
      'InvalidEventError',
    );
    expect(errorOf(() => prepareEvent('c', { keen: 5 }, 0, origin, options)).errorCode).toBe(
      'NamespaceTypeError',
    );
    expect(
      errorOf(() => prepareEvent('c', { keen: { timestamp: 'soon' } }, 0, origin, options))
        .errorCode,
    ).toBe('InvalidPropertyValueError');
    expect(
      errorOf(() => prepareEvent('c', { keen: { foo: 1 } }, 0, origin, options)).errorCode,
    ).toBe('InvalidKeenNamespaceProperty');
    const big = errorOf(() => prepareEvent('c', { s: 'x'.repeat(2000) }, 0, origin, options));
    expect(big.kind).toBe('too_large');
  });

  it('refuses pathological nesting instead of overflowing the stack', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) deep = { d: deep };
    expect(
      errorOf(() => prepareEvent('c', deep, 0, origin, { ...options, maxEventBytes: 1e6 }))
        .errorCode,
    ).toBe('InvalidEventError');
  });
});
