import secureJson from 'secure-json-parse';
import { TallyError } from './errors';
import { JsonObject } from './json.types';
import { RESERVED_NAME } from './model/names';

// What secure-json-parse throws for a `__proto__` key, as opposed to malformed JSON.
const FORBIDDEN_KEY = 'Object contains forbidden prototype property';

/**
 * The one JSON parser for request bodies, beacons and JSON-valued parameters.
 * A `__proto__` key anywhere refuses the whole document with a 400 naming it:
 * no object that reaches our code (or a consumer of an extraction) can carry
 * one. `constructor` is ordinary data (`constructorAction: 'ignore'`): nothing
 * here merges client objects into others, so it cannot reach a prototype.
 * `what` names the input in messages ("The request body", "filters").
 */
export function parseJsonText(text: string, what = 'The request body'): unknown {
  if (text.trim().length === 0) {
    throw new TallyError('invalid', 'InvalidJsonError', `${what} is empty; send a JSON document.`);
  }
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'ignore' });
  } catch (error) {
    const detail = (error as Error).message;
    if (detail === FORBIDDEN_KEY) {
      throw new TallyError(
        'invalid',
        'InvalidPropertyNameError',
        `${what} holds the property name "${RESERVED_NAME}", which is reserved (it would change the prototype of JavaScript objects).`,
      );
    }
    throw new TallyError(
      'invalid',
      'InvalidJsonError',
      `${what} is not valid JSON (${detail.slice(0, 200)}).`,
    );
  }
}

/**
 * An object for keys that come from users (labels, property paths, group
 * values): no prototype, so `__proto__`, `constructor` or `toString` are plain
 * keys and nothing can be read from or written to Object.prototype through it.
 * JSON.stringify renders it like any object.
 */
export function userKeyed<T = JsonObject>(): T {
  return Object.create(null) as T;
}
