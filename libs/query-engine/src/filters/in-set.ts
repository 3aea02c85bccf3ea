import { JsonValue } from '@app/events';
import { parseIsoInstant } from '../values/iso-instant';
import { canonicalJson } from '../values/total-order';
import { numericString } from './loose-compare';

/**
 * An `in` list, normalised once into sets holding every form looseEquals
 * (loose-compare.ts) accepts, so testing a value costs a few hash lookups
 * whatever the list's length. Comparing each event against every listed
 * value, as before, let one query with a 9 MB list hold the event loop for
 * 12 s. The sets mirror scalarEquals case by case:
 *
 * - a number equals a listed number, or a listed numeric string ("3" lists 3);
 * - a string equals an identical listed string, a listed datetime string
 *   naming the same instant (when it is a datetime itself), or a listed
 *   number when it is a numeric string (numeric strings do not equal each
 *   other numerically: "3" does not list "3.0");
 * - a boolean or null equals only itself;
 * - an object equals a structurally equal listed object;
 * - an array equals a structurally equal listed array, or has an element
 *   (itself not an array) that one of the rules above lists.
 */
export class InSet {
  /** Listed numbers and numeric strings, as numbers: what a number actual matches. */
  private readonly numbers = new Set<number>();
  /** Listed JSON numbers only: what a numeric string actual matches. */
  private readonly numberValues = new Set<number>();
  private readonly strings = new Set<string>();
  /** Instants of listed datetime strings. */
  private readonly instants = new Set<number>();
  private readonly booleans = new Set<boolean>();
  private hasNull = false;
  /** Canonical JSON of listed objects and arrays (deepEqual ⇔ equal canonical text). */
  private readonly structured = new Set<string>();
  private hasArrays = false;

  constructor(values: readonly JsonValue[]) {
    for (const v of values) {
      if (v === null) this.hasNull = true;
      else if (typeof v === 'number') {
        this.numbers.add(v);
        this.numberValues.add(v);
      } else if (typeof v === 'string') {
        this.strings.add(v);
        const n = numericString(v);
        if (n !== undefined) this.numbers.add(n);
        const t = parseIsoInstant(v);
        if (t !== undefined) this.instants.add(t);
      } else if (typeof v === 'boolean') this.booleans.add(v);
      else {
        if (Array.isArray(v)) this.hasArrays = true;
        this.structured.add(canonicalJson(v));
      }
    }
  }

  /** looseEquals(actual, x) for some listed x. */
  has(actual: JsonValue): boolean {
    if (Array.isArray(actual)) {
      if (this.hasArrays && this.structured.has(canonicalJson(actual))) return true;
      for (let i = 0; i < actual.length; i++) {
        const el = actual[i];
        if (!Array.isArray(el) && this.hasScalar(el)) return true;
      }
      return false;
    }
    return this.hasScalar(actual);
  }

  /** scalarEquals(actual, x) for some listed x; `actual` is not an array. */
  private hasScalar(actual: JsonValue): boolean {
    switch (typeof actual) {
      case 'number':
        return this.numbers.has(actual);
      case 'string': {
        if (this.strings.has(actual)) return true;
        if (this.instants.size > 0) {
          const t = parseIsoInstant(actual);
          if (t !== undefined && this.instants.has(t)) return true;
        }
        if (this.numberValues.size > 0) {
          const n = numericString(actual);
          if (n !== undefined && this.numberValues.has(n)) return true;
        }
        return false;
      }
      case 'boolean':
        return this.booleans.has(actual);
      default:
        if (actual === null) return this.hasNull;
        return this.structured.size > 0 && this.structured.has(canonicalJson(actual));
    }
  }
}
