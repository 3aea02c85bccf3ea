import type { Document } from 'mongodb';
import { PropertyType } from '@app/schema';
import { anyOf, Expr } from './mongo-expressions';

/**
 * What the collection's schema counters say a path holds in settled events
 * (those whose delivery's counters are applied, i.e. without a write marker
 * `m`): its types, or undefined when the counters cannot say (no schema
 * given, or a path the property cap left uncounted).
 */
export type PropertyKinds = (path: string) => ReadonlySet<PropertyType> | undefined;

/** One guard: events whose `path` may hold one of `types` are unsure. */
interface Guard {
  path: string;
  types: PropertyType[];
}

/**
 * The unsure-event tests of one pipeline (mongo-filter.compile.ts), split by
 * what the schema counters say. A guard no settled event can meet (its path
 * never held those types) only needs checking on events still under a write
 * marker: their counters may not be applied yet, so the schema cannot vouch
 * for them. Those checks cost one comparison per event instead of the type
 * tests, so a collection whose properties keep one kind pays next to nothing.
 *
 * The schema is read before the pipeline and again after it (`changed`): a
 * delivery that finished while the pipeline ran applied its counters before
 * clearing its marker, so an event the pipeline read without a marker is
 * counted in the second read. If that read shows a type the first did not for
 * a guarded path, the answer is not used.
 */
export class Guards {
  private readonly always: Document[] = [];
  private readonly inflight: Document[] = [];
  private readonly trusted: Guard[] = [];

  constructor(private readonly kinds?: PropertyKinds) {}

  /** Whether settled events may hold one of `types` at `path`. */
  mayHold(path: string, types: PropertyType[]): boolean {
    const known = this.kinds?.(path);
    return known === undefined || types.some((t) => known.has(t));
  }

  /**
   * Adds a test of one event; returns whether it applies to settled events
   * too (else only to events under a marker).
   */
  add(path: string, types: PropertyType[], test: Document): boolean {
    if (this.mayHold(path, types)) {
      this.always.push(test);
      return true;
    }
    this.inflight.push(test);
    this.trusted.push({ path, types });
    return false;
  }

  /**
   * A filter's `$match` that also keeps its unsure events: `always` queries
   * for every event, `inflight` ones for events under a marker.
   */
  static keep(sure: Document, always: Document[], inflight: Document[]): Document {
    const alternatives = [sure, ...always];
    if (inflight.length > 0) {
      alternatives.push({
        m: { $exists: true },
        ...(inflight.length === 1 ? inflight[0] : { $or: inflight }),
      });
    }
    return alternatives.length === 1 ? sure : { $or: alternatives };
  }

  /** Whether the pipeline tests any event at all. */
  any(): boolean {
    return this.always.length > 0 || this.inflight.length > 0;
  }

  /** Whether a test was left to events under a marker on the counters' word (see changed). */
  trusts(): boolean {
    return this.trusted.length > 0;
  }

  /** 1 for an unsure event, else 0; undefined when nothing is guarded. */
  flag(): Expr | undefined {
    if (this.always.length === 0 && this.inflight.length === 0) return undefined;
    if (this.inflight.length === 0) return anyOf(this.always);
    return {
      $cond: [{ $gt: ['$m', null] }, anyOf([...this.always, ...this.inflight]), anyOf(this.always)],
    };
  }

  /** Whether `later` (the schema read after the pipeline) lets settled events meet a guard this one trusted. */
  changed(later: PropertyKinds): boolean {
    return this.trusted.some(({ path, types }) => {
      const known = later(path);
      return known === undefined || types.some((t) => known.has(t));
    });
  }
}
