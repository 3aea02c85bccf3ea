import { buildScanRequest } from '../engine/scan-pages';
import { compileFilters } from '../filters/compile-filters';
import { resolveTimeframe } from '../timeframe/timeframe';
import { parseEventSelection } from './parse-selection';

describe('parseEventSelection (filtered deletes)', () => {
  it('reads DELETE query-string parameters into filters, timeframe and timezone', () => {
    const sel = parseEventSelection({
      filters: '[{"property_name":"keen.id","operator":"eq","property_value":"x1"}]',
      timeframe: 'previous_2_days',
      timezone: 'America/New_York',
    });
    const range = resolveTimeframe(sel.timeframe, sel.timezone, new Date('2024-03-11T12:00:00Z'));
    expect(range).toEqual({
      start: Date.parse('2024-03-09T05:00:00Z'),
      end: Date.parse('2024-03-11T04:00:00Z'),
    });
    const { request, exact } = buildScanRequest('p', 'c', range, sel.filters);
    expect(request.ids).toEqual(['x1']);
    expect(exact).toBe(true);
    expect(compileFilters(sel.filters)({ keen: { id: 'x1' } })).toBe(true);
  });

  it('selects everything when given nothing, and names bad parameters', () => {
    expect(parseEventSelection({})).toEqual({ filters: [], timezone: 'UTC' });
    expect(() => parseEventSelection({ timeframe: 'soonish' })).toThrow(/timeframe/);
    expect(() => parseEventSelection({ filters: '{oops' })).toThrow(/filters/);
  });

  it('reads timeframe and timezone JSON-encoded as strings, as keen-analysis del() sends them', () => {
    const plain = parseEventSelection({ timeframe: 'previous_2_days', timezone: 'America/New_York' });
    const quoted = parseEventSelection({ timeframe: '"previous_2_days"', timezone: ' "America/New_York" ' });
    expect(quoted).toEqual(plain);
    expect(parseEventSelection({ timezone: '"-18000"' }).timezone).toBe('UTC-5');
    // Only a JSON string is unquoted: a quote that does not close is still a bad timeframe.
    expect(() => parseEventSelection({ timeframe: '"this_2_days' })).toThrow(/timeframe/);
    expect(() => parseEventSelection({ timeframe: '"soonish"' })).toThrow(/timeframe/);
  });
});
