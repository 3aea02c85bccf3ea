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

/**
 * A scalar parameter sent as JSON text of a string (`"this_7_days"` with its
 * quotes): keen-analysis' `del()` JSON-encodes timeframe and timezone before
 * putting them in the query string, strings included, and Keen accepts that.
 * Anything else is returned as it came.
 */
export function unquoteParamString(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return raw;
  try {
    const value = parseJsonText(text, 'parameter');
    return typeof value === 'string' ? value : raw;
  } catch {
    return raw;
  }
}
