import { TallyError } from '@app/events';
import { analysisLabel, errorCodeLabel } from './metrics';

describe('core metric labels', () => {
  it('labels a query by its analysis when the engine knows it, else unknown', () => {
    expect(
      ['count', ' Count_Unique ', 'funnel', 'multi_analysis', 'extraction'].map(analysisLabel),
    ).toEqual(['count', 'count_unique', 'funnel', 'multi_analysis', 'extraction']);
    expect(['counts', 'project-secret-abc', '', 'x'.repeat(500)].map(analysisLabel)).toEqual([
      'unknown',
      'unknown',
      'unknown',
      'unknown',
    ]);
  });

  it("uses a TallyError's code, and internal for anything else or a code that is not a plain name", () => {
    expect(errorCodeLabel(new TallyError('invalid', 'InvalidPropertyNameError', 'm'))).toBe(
      'InvalidPropertyNameError',
    );
    expect(errorCodeLabel(new Error('boom'))).toBe('internal');
    expect(errorCodeLabel('text')).toBe('internal');
    expect(errorCodeLabel(new TallyError('invalid', 'has space / slash', 'm'))).toBe('internal');
  });
});
