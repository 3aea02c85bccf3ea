import { JsonObject, JsonValue } from '../json.types';
import { TallyError } from '../errors';
import { MAX_DEPTH } from './event-limits';
import { propertyNameProblem } from './names';

const KEEN_KEYS = new Set([
  'timestamp',
  'created_at',
  'id',
  'addons',
  'location',
  'uniqueness_token',
]);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an event body's shape and names (the schema-less body is validated
 * here, not by DTO decorators, because it is the hot path). Throws a 400
 * naming the first offending property by its dotted path.
 */
export function validateEventShape(body: unknown): asserts body is JsonObject {
  if (!isObject(body)) {
    throw new TallyError('invalid', 'InvalidEventError', 'An event must be a JSON object.');
  }
  checkObject(body, '', 0);
  const keen = body.keen;
  if (keen === undefined) return;
  if (!isObject(keen)) {
    throw new TallyError('invalid', 'NamespaceTypeError', 'The "keen" property must be an object.');
  }
  for (const key of Object.keys(keen)) {
    if (!KEEN_KEYS.has(key)) {
      throw new TallyError(
        'invalid',
        'InvalidKeenNamespaceProperty',
        `"keen.${key}" is not a property Tally accepts in the keen namespace (allowed: ${[...KEEN_KEYS].join(', ')}).`,
      );
    }
  }
  if (keen.timestamp !== undefined && typeof keen.timestamp !== 'string') {
    throw new TallyError(
      'invalid',
      'InvalidPropertyValueError',
      '"keen.timestamp" must be an ISO-8601 string.',
    );
  }
}

function checkObject(obj: JsonObject, prefix: string, depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new TallyError(
      'invalid',
      'InvalidEventError',
      `Event nesting is deeper than ${MAX_DEPTH} levels at "${prefix}".`,
    );
  }
  for (const key of Object.keys(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const problem = propertyNameProblem(key);
    if (problem) {
      throw new TallyError(
        'invalid',
        'InvalidPropertyNameError',
        `Property name "${path.slice(0, 300)}" is invalid: it ${problem}.`,
      );
    }
    checkValue(obj[key], path, depth + 1);
  }
}

function checkValue(value: JsonValue, path: string, depth: number): void {
  if (Array.isArray(value)) {
    if (depth > MAX_DEPTH) {
      throw new TallyError(
        'invalid',
        'InvalidEventError',
        `Event nesting is deeper than ${MAX_DEPTH} levels at "${path}".`,
      );
    }
    for (const item of value) {
      // Names inside are checked first, so a bad name is named wherever it is.
      checkValue(item, path, depth + 1);
      // Keen refuses lists of objects or lists (its queries cannot reach inside
      // them); keen.addons is the one list of objects, and it is the server's.
      if (typeof item === 'object' && item !== null && path !== 'keen.addons') {
        throw new TallyError(
          'invalid',
          'ListsOfNonPrimitivesNotAllowedError',
          `Property "${path.slice(0, 300)}" is a list holding ${Array.isArray(item) ? 'a list' : 'an object'}; lists may hold only strings, numbers, booleans and null.`,
        );
      }
    }
  } else if (isObject(value)) {
    checkObject(value, path, depth);
  } else if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new TallyError(
      'invalid',
      'InvalidPropertyValueError',
      `Property "${path}" is not a finite number.`,
    );
  }
}
