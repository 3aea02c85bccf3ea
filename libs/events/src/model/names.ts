import { TallyError } from '../errors';

export const MAX_NAME_LENGTH = 256;

/**
 * `__proto__` is the one name JavaScript gives a meaning on assignment: stored
 * as data it would turn into a prototype in every JS consumer that copies an
 * event or a result (dashboards, SDKs, our own code), so it is refused with a
 * clear error. Every other name, `constructor` and `toString` included, is
 * ordinary data everywhere (own-property reads, null-prototype objects, Maps).
 */
export const RESERVED_NAME = '__proto__';

/** Why a property name is not allowed, or undefined when it is fine. */
export function propertyNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be <= ${MAX_NAME_LENGTH} characters`;
  if (name.includes('.')) return "cannot contain the '.' character";
  if (name.startsWith('$')) return "cannot start with the '$' symbol";
  // BSON keys are NUL-terminated: MongoDB would store a shorter name (or
  // nothing), so the write could never be read back as sent.
  if (name.includes('\u0000')) return 'cannot contain the NUL character (U+0000)';
  if (name === RESERVED_NAME)
    return 'is reserved (it would change the prototype of JavaScript objects)';
  return undefined;
}

export function assertCollectionName(name: string): void {
  let problem: string | undefined = propertyNameProblem(name);
  if (!problem && name.startsWith('_')) problem = "cannot start with '_'";
  if (!problem && /[\u0000-\u001f]/.test(name)) problem = 'cannot contain control characters';
  if (problem) {
    throw new TallyError(
      'invalid',
      'InvalidCollectionNameError',
      `Invalid collection name "${name.slice(0, 300)}": ${problem}.`,
    );
  }
}
