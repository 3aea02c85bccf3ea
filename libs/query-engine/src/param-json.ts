import { parseJsonText, TallyError } from '@app/events';

/**
 * A parameter's JSON text through the one safe parser (`parseJsonText`): a
 * `__proto__` key keeps that parser's message naming it, anything else that
 * does not parse becomes `invalid`, both as this parameter's own 400.
 */
export function parseParamJson(
  text: string,
  name: string,
  toError: (message: string) => TallyError,
  invalid: string,
): unknown {
  try {
    return parseJsonText(text, name);
  } catch (error) {
    const reserved = error instanceof TallyError && error.errorCode === 'InvalidPropertyNameError';
    throw toError(reserved ? error.message : invalid);
  }
}
