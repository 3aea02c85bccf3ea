/**
 * Deep equality for query answers that tolerates floating-point rounding
 * (the engine folds incrementally, the reference in one go) and treats 0 and
 * −0 alike. Throws an Error naming the first differing path.
 */
export function expectSameAnswer(actual: unknown, expected: unknown, path = 'response'): void {
  if (typeof actual === 'number' && typeof expected === 'number') {
    const tolerance = 1e-9 * Math.max(1, Math.abs(actual), Math.abs(expected));
    if (Math.abs(actual - expected) <= tolerance) return;
    throw new Error(`${path}: ${actual} !== ${expected}`);
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    if (actual.length !== expected.length) {
      throw new Error(
        `${path}: length ${actual.length} !== ${expected.length}\n${JSON.stringify(actual)}\n${JSON.stringify(expected)}`,
      );
    }
    actual.forEach((v, i) => expectSameAnswer(v, expected[i], `${path}[${i}]`));
    return;
  }
  if (
    actual !== null &&
    expected !== null &&
    typeof actual === 'object' &&
    typeof expected === 'object' &&
    !Array.isArray(actual) &&
    !Array.isArray(expected)
  ) {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
    for (const k of keys) {
      if (!(k in a) || !(k in e)) throw new Error(`${path}.${k}: present on one side only`);
      expectSameAnswer(a[k], e[k], `${path}.${k}`);
    }
    return;
  }
  if (actual !== expected) {
    throw new Error(`${path}: ${JSON.stringify(actual)} !== ${JSON.stringify(expected)}`);
  }
}
