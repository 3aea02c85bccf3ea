import type { Document } from 'mongodb';
import { PropertyType } from '@app/schema';
import { anyOf, Expr } from './mongo-expressions';

/**
 * What the collection's schema counters say a path holds in settled events
 * (those whose delivery's counters are applied): its types, or undefined when
 * the counters cannot say (no schema given, or a path the property cap left
 * uncounted).
 */
export type PropertyKinds = (path: string) => ReadonlySet<PropertyType> | undefined;

/**
 * Which events may be unsettled, read with the counters. Every event keeps the
 * write marker `m` of the delivery that inserted it (docs/queue.md), and
 * markers begin with their delivery's start time (write-marker.ts). An event
 * may be uncounted in the counters read when its marker was pending at that
 * read (`pending`, read just before the counters) or began after it: at or
 * above `since`, the read's time less a margin for clocks that disagree.
 * Events without a marker were written before markers stayed, and settled.
 */
export interface WriteMarkers {
  pending: readonly string[];
  since: string;
}

/** The schema as the compiled path reads it, before the pipeline and after it. */
export interface SchemaView {
  kinds: PropertyKinds;
  /** Absent when the store cannot list its pending markers: every marked event is then unsure. */
  markers?: WriteMarkers;
}

/** One guard: events whose `path` may hold one of `types` are unsure. */
interface Guard {
  path: string;
  types: PropertyType[];
}

/**
 * The unsure-event tests of one pipeline (mongo-filter.compile.ts), split by
 * what the schema counters say. A guard no settled event can meet (its path
 * never held those types) only needs checking on events that may not be
 * counted yet (see WriteMarkers), so a collection whose properties keep one
 * kind pays one string comparison per event instead of the type tests.
 *
 * The schema is read before the pipeline and again after it (`changed`). An
 * event the pipeline judged settled that was not: its delivery registered its
 * marker after the first read with a clock far enough behind to fall under
 * `since`. If that delivery is still pending at the second read, the new
 * pending marker under `since` says so; if it was applied in between, its
 * counters are in the second read, and a type the first read did not show for
 * a guarded path says so. Either way the answer is not used.
 */
export class Guards {
  private readonly always: Document[] = [];
  private readonly inflight: Document[] = [];
  private readonly trusted: Guard[] = [];

  private readonly kinds?: PropertyKinds;
  private readonly markers?: WriteMarkers;

  constructor(view?: SchemaView) {
    this.kinds = view?.kinds;
    this.markers = view?.markers;
  }

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
   * for every event, `inflight` ones for events that may not be counted yet.
   */
  keep(sure: Document, always: Document[], inflight: Document[]): Document {
    const alternatives = [sure, ...always];
    if (inflight.length > 0) {
      alternatives.push({
        $and: [this.unsettledMatch(), inflight.length === 1 ? inflight[0] : { $or: inflight }],
      });
    }
    return alternatives.length === 1 ? sure : { $or: alternatives };
  }

  /** `$match` form of "this event may not be counted yet". */
  private unsettledMatch(): Document {
    if (!this.markers) return { m: { $exists: true } };
    const { since, pending } = this.markers;
    return pending.length === 0
      ? { m: { $gte: since } }
      : { $or: [{ m: { $gte: since } }, { m: { $in: [...pending] } }] };
  }

  /** Expression form of the same (a missing `m` compares below any string). */
  private unsettledExpr(): Expr {
    if (!this.markers) return { $gt: ['$m', null] };
    const { since, pending } = this.markers;
    const newer = { $gte: ['$m', since] };
    return pending.length === 0 ? newer : { $or: [newer, { $in: ['$m', [...pending]] }] };
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
      $cond: [this.unsettledExpr(), anyOf([...this.always, ...this.inflight]), anyOf(this.always)],
    };
  }

  /**
   * Whether `later` (the schema read after the pipeline) shows that an event
   * this pipeline trusted the counters for may not have been counted: a
   * guarded path took a type the first read did not show, or a marker pending
   * now was neither pending at the first read nor recent enough to be tested.
   */
  changed(later: SchemaView): boolean {
    const typed = this.trusted.some(({ path, types }) => {
      const known = later.kinds(path);
      return known === undefined || types.some((t) => known.has(t));
    });
    if (typed || !this.markers) return typed;
    const before = new Set(this.markers.pending);
    const since = this.markers.since;
    // Without markers in the later read there is nothing to compare: not a change.
    return (later.markers?.pending ?? []).some((m) => !before.has(m) && m < since);
  }
}
