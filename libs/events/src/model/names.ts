import { TallyError } from '../errors';

export const MAX_NAME_LENGTH = 256;

/** Why a property name is not allowed, or undefined when it is fine. */
export function propertyNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be <= ${MAX_NAME_LENGTH} characters`;
  if (name.includes('.')) return "cannot contain the '.' character";
  if (name.startsWith('$')) return "cannot start with the '$' symbol";
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
