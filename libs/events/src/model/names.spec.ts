import { assertCollectionName, propertyNameProblem } from './names';

describe('names', () => {
  it('accepts ordinary names and rejects the reserved forms', () => {
    expect(propertyNameProblem('user_id')).toBeUndefined();
    expect(propertyNameProblem('a.b')).toMatch(/'\.'/);
    expect(propertyNameProblem('$x')).toMatch(/\$/);
    expect(propertyNameProblem('')).toBeDefined();
    expect(() => assertCollectionName('purchases')).not.toThrow();
    expect(() => assertCollectionName('_internal')).toThrow(/cannot start with '_'/);
    expect(() => assertCollectionName('a\nb')).toThrow(/control/);
  });
});
