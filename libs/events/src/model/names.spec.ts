import { assertCollectionName, propertyNameProblem } from './names';

describe('names', () => {
  it('accepts ordinary names and rejects the reserved forms', () => {
    expect(propertyNameProblem('user_id')).toBeUndefined();
    expect(propertyNameProblem('a.b')).toMatch(/'\.'/);
    expect(propertyNameProblem('$x')).toMatch(/\$/);
    expect(propertyNameProblem('')).toBeDefined();
    // A BSON key ends at NUL: the store would keep another name than the one sent.
    expect(propertyNameProblem('a\u0000b')).toMatch(/NUL/);
    expect(propertyNameProblem('a\u0001b')).toBeUndefined();
    expect(() => assertCollectionName('purchases')).not.toThrow();
    expect(() => assertCollectionName('_internal')).toThrow(/cannot start with '_'/);
    expect(() => assertCollectionName('a\nb')).toThrow(/control/);
  });
});
