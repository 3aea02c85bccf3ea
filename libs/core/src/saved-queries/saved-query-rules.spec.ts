import { TallyError } from '@app/events';
import {
  assertRefreshRate,
  assertSavedQueryName,
  MAX_SAVED_QUERY_BYTES,
  nextRefreshAt,
  parseSavedQueryBody,
} from './saved-query-rules';

const COUNT = { analysis_type: 'count', event_collection: 'purchases', timeframe: 'this_7_days' };

function refusal(work: () => unknown): { kind: string; code: string; message: string } {
  try {
    work();
  } catch (error) {
    if (error instanceof TallyError)
      return { kind: error.kind, code: error.errorCode, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('saved query rules', () => {
  it('accepts names of letters, digits, "_", "-" and "." up to 200 characters', () => {
    for (const name of ['daily-revenue', 'a', 'Q_1.v2', '_x', '9', 'a'.repeat(200)]) {
      expect(assertSavedQueryName(name)).toBe(name);
    }
  });

  it('refuses empty, long and odd names with a 400 naming the rule', () => {
    for (const name of [
      '',
      'a'.repeat(201),
      '.hidden',
      'a b',
      'a/b',
      'naïve',
      '$x',
      '__proto__\u0000',
      'x?y',
    ]) {
      const r = refusal(() => assertSavedQueryName(name));
      expect([r.kind, r.code]).toEqual(['invalid', 'InvalidSavedQueryError']);
    }
    expect(refusal(() => assertSavedQueryName('a'.repeat(201))).message).toMatch(/at most 200/);
  });

  it('takes refresh_rate 0 (or absent) or 14400-86400 whole seconds, nothing else', () => {
    expect([undefined, null, 0, 14_400, 50_000, 86_400].map(assertRefreshRate)).toEqual([
      0, 0, 0, 14_400, 50_000, 86_400,
    ]);
    for (const bad of [1, 14_399, 86_401, 14_400.5, '14400', -1, true, [14_400], {}]) {
      expect(refusal(() => assertRefreshRate(bad)).code).toBe('InvalidSavedQueryError');
    }
  });

  it('parses a body into the stored definition: nulls dropped, metadata kept, query_name checked', () => {
    const input = parseSavedQueryBody(
      'q',
      {
        query_name: 'q',
        refresh_rate: 14_400,
        query: { ...COUNT, group_by: null, interval: null, timezone: null, filters: [] },
        metadata: { display_name: 'Q', $odd: { 'a.b': 1 } },
        created_date: 'ignored',
        urls: {},
      },
      {},
    );
    expect(input).toEqual({
      query: { ...COUNT, filters: [] },
      metadata: { display_name: 'Q', $odd: { 'a.b': 1 } },
      refreshRate: 14_400,
    });
    expect(Object.getPrototypeOf(input.query)).toBe(Object.prototype);
    expect(parseSavedQueryBody('q', { query: COUNT }, {})).toEqual({
      query: COUNT,
      metadata: {},
      refreshRate: 0,
    });
  });

  it('refuses bad bodies with Keen-shaped 400s naming the problem', () => {
    const cases: [unknown, RegExp, string?][] = [
      [null, /JSON object/],
      [[COUNT], /JSON object/],
      [{ query: COUNT, query_name: 'other' }, /differs from the name/],
      [{ query: COUNT, refresh_rat: 0 }, /Unknown field "refresh_rat"/],
      [{ query: COUNT, metadata: [] }, /metadata must be a JSON object/],
      [{}, /query must be a JSON object/],
      [{ query: { event_collection: 'x' } }, /analysis_type must be one of/],
      [{ query: { ...COUNT, analysis_type: 'saved' } }, /analysis_type must be one of/],
      [{ query: { ...COUNT, analysis_type: 'extraction', email: 'a@b.c' } }, /cannot be emailed/],
      [{ query: { analysis_type: 'count' } }, /event_collection/, 'InvalidParameterError'],
      [
        { query: { ...COUNT, timeframe: 'last_tuesday' } },
        /timeframe/i,
        'TimeframeDefinitionError',
      ],
      [
        {
          query: {
            ...COUNT,
            filters: [{ property_name: 'a', operator: 'nope', property_value: 1 }],
          },
        },
        /operator/,
        'FilterDefinitionError',
      ],
      [{ query: { ...COUNT, analysis_type: 'sum' } }, /target_property/, 'InvalidParameterError'],
    ];
    for (const [body, message, code] of cases) {
      const r = refusal(() => parseSavedQueryBody('q', body, {}));
      expect({ kind: r.kind, code: r.code, matches: message.test(r.message) }).toEqual({
        kind: 'invalid',
        code: code ?? 'InvalidSavedQueryError',
        matches: true,
      });
    }
  });

  it('refuses a definition over the size limit with a 413', () => {
    const r = refusal(() =>
      parseSavedQueryBody(
        'q',
        { query: COUNT, metadata: { notes: 'x'.repeat(MAX_SAVED_QUERY_BYTES) } },
        {},
      ),
    );
    expect([r.kind, r.code]).toEqual(['too_large', 'SavedQueryTooLargeError']);
  });

  it('is due refresh_rate seconds after it was computed', () => {
    expect(nextRefreshAt(14_400, 1_000)).toBe(1_000 + 14_400_000);
  });
});
