import { TallyError } from '../errors';
import { prepareEvent, RequestOrigin } from './prepare-event';
import {
  deriveTokenEventId,
  MAX_UNIQUENESS_TOKEN_LENGTH,
  namedByUniquenessToken,
  uniquenessTokenOf,
} from './uniqueness-token';

const options = { idSecret: 'secret', maxEventBytes: 4096 };
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

describe('deriveTokenEventId', () => {
  const base = { projectId: 'p1', collection: 'orders', token: 'order-42' };

  it('is 24 hex characters and the same for the same project, collection and token', () => {
    const id = deriveTokenEventId('secret', base);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(deriveTokenEventId('secret', { ...base })).toBe(id);
  });

  it('differs per project, per collection, per token and per server secret', () => {
    const ids = [
      deriveTokenEventId('secret', base),
      deriveTokenEventId('secret', { ...base, projectId: 'p2' }),
      deriveTokenEventId('secret', { ...base, collection: 'refunds' }),
      deriveTokenEventId('secret', { ...base, token: 'order-43' }),
      deriveTokenEventId('other secret', base),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('cannot be steered across fields by separators inside them', () => {
    // With a plain separator join these pairs would hash the same text.
    const pairs: Array<[typeof base, typeof base]> = [
      [
        { projectId: 'a', collection: 'b\nc', token: 't' },
        { projectId: 'a\nb', collection: 'c', token: 't' },
      ],
      [
        { projectId: 'p', collection: 'c', token: 'x","y' },
        { projectId: 'p', collection: 'c","x', token: 'y' },
      ],
    ];
    for (const [a, b] of pairs) {
      expect(deriveTokenEventId('secret', a)).not.toBe(deriveTokenEventId('secret', b));
    }
  });

  it('switches keys when the secret changes and back (the derived key is cached per secret)', () => {
    const first = deriveTokenEventId('s1', base);
    expect(deriveTokenEventId('s2', base)).not.toBe(first);
    expect(deriveTokenEventId('s1', base)).toBe(first);
  });
});

describe('uniquenessTokenOf', () => {
  it('reads a string token and ignores a keen object without one', () => {
    expect(uniquenessTokenOf({ uniqueness_token: 'abc' })).toBe('abc');
    expect(uniquenessTokenOf({ timestamp: '2024-01-01T00:00:00Z' })).toBeUndefined();
  });

  it.each([[42], [true], [null], [{ a: 1 }], [['x']], ['']])(
    'refuses %p with a 400 InvalidPropertyValueError',
    (token) => {
      const error = errorOf(() => uniquenessTokenOf({ uniqueness_token: token }));
      expect(error).toBeInstanceOf(TallyError);
      expect(error.kind).toBe('invalid');
      expect(error.errorCode).toBe('InvalidPropertyValueError');
      expect(error.message).toContain('keen.uniqueness_token');
    },
  );

  it(`accepts ${MAX_UNIQUENESS_TOKEN_LENGTH} characters and refuses one more`, () => {
    const longest = 'x'.repeat(MAX_UNIQUENESS_TOKEN_LENGTH);
    expect(uniquenessTokenOf({ uniqueness_token: longest })).toBe(longest);
    const error = errorOf(() => uniquenessTokenOf({ uniqueness_token: `${longest}x` }));
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain(`at most ${MAX_UNIQUENESS_TOKEN_LENGTH}`);
  });
});

describe('prepareEvent with a uniqueness token', () => {
  const withToken = (extra: object, token = 'tok-1') => ({
    ...extra,
    keen: { uniqueness_token: token },
  });

  it('gives every event of one token in one collection the same id, whatever else differs', () => {
    const first = prepareEvent('orders', withToken({ total: 1 }), 0, origin, options);
    expect(first.id).toBe(
      deriveTokenEventId('secret', { projectId: 'p1', collection: 'orders', token: 'tok-1' }),
    );
    const variants = [
      // another body, another position in another request
      prepareEvent(
        'orders',
        withToken({ total: 2, extra: 'x' }),
        5,
        { ...origin, requestId: 'r2' },
        options,
      ),
      // a retry 31 days later, with the edge's request time
      prepareEvent(
        'orders',
        withToken({ total: 1 }),
        0,
        {
          ...origin,
          requestStart: origin.receivedAt + 31 * 86_400_000,
          receivedAt: origin.receivedAt + 31 * 86_400_000,
        },
        options,
      ),
      // a client-chosen request id and an explicit timestamp
      prepareEvent(
        'orders',
        { total: 3, keen: { uniqueness_token: 'tok-1', timestamp: '2019-01-01T00:00:00Z' } },
        1,
        { ...origin, requestId: 'client-key', clientChosenId: true },
        options,
      ),
    ];
    for (const v of variants) expect(v.id).toBe(first.id);
    // Each keeps its own timestamp and body; the store decides which one stays.
    expect(variants[1].timestamp).toBe(origin.receivedAt + 31 * 86_400_000);
    expect(variants[2].timestamp).toBe(Date.parse('2019-01-01T00:00:00Z'));
  });

  it('keeps the token in the stored keen object next to the id it derived', () => {
    const e = prepareEvent('orders', withToken({ total: 1 }), 0, origin, options);
    expect(e.event.keen).toEqual({
      uniqueness_token: 'tok-1',
      timestamp: '2024-05-01T12:00:00.000Z',
      created_at: '2024-05-01T12:00:00.000Z',
      id: e.id,
    });
  });

  it('names different tokens, collections and projects differently, and events without a token as before', () => {
    const ids = [
      prepareEvent('orders', withToken({ n: 1 }), 0, origin, options).id,
      prepareEvent('orders', withToken({ n: 1 }, 'tok-2'), 0, origin, options).id,
      prepareEvent('refunds', withToken({ n: 1 }), 0, origin, options).id,
      prepareEvent('orders', withToken({ n: 1 }), 0, { ...origin, projectId: 'p2' }, options).id,
      prepareEvent('orders', { n: 1 }, 0, origin, options).id,
      prepareEvent('orders', { n: 1 }, 0, origin, options).id,
    ];
    expect(new Set(ids).size).toBe(5);
    expect(ids[4]).toBe(ids[5]);
  });

  it('refuses a bad token before anything is derived', () => {
    const error = errorOf(() =>
      prepareEvent('orders', { keen: { uniqueness_token: 7 } }, 0, origin, options),
    );
    expect(error.errorCode).toBe('InvalidPropertyValueError');
  });
});

describe('namedByUniquenessToken', () => {
  it('tells a prepared event named by its token from one that is not', () => {
    const named = prepareEvent('c', { keen: { uniqueness_token: 't' } }, 0, origin, options);
    const plain = prepareEvent('c', { uniqueness_token: 't' }, 0, origin, options);
    expect(namedByUniquenessToken(named.event)).toBe(true);
    expect(namedByUniquenessToken(plain.event)).toBe(false);
    expect(namedByUniquenessToken({ keen: 'x' })).toBe(false);
    expect(namedByUniquenessToken({ keen: [{ uniqueness_token: 't' }] })).toBe(false);
  });
});
