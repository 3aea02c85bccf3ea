import { StoredEvent } from '@app/events';
import { forEachProperty } from './infer-schema';
import { SchemaDelta } from './schema.types';

/** Distinct property paths a collection's schema admits unless configured otherwise (Keen's limit). */
export const DEFAULT_MAX_PROPERTIES = 1000;

/**
 * The reserved `keen` object and its direct children (validation allows only
 * a handful: timestamp, created_at, id, addons, location, uniqueness_token)
 * are always admitted and not counted: every event has them and queries
 * depend on them. Deeper keen paths count like any other property.
 */
export function isReservedPath(path: string): boolean {
  return path === 'keen' || (path.startsWith('keen.') && !path.includes('.', 5));
}

/** What a writer knows of a collection's admitted set when it applies counters. */
export interface AdmittedView {
  /** How many (non-reserved) paths the collection has admitted so far. */
  admittedCount: number;
  isAdmitted(path: string): boolean;
}

export interface Admission {
  /** The deltas of admitted paths only: what the counters receive. */
  deltas: SchemaDelta[];
  /** Paths admitted by this write, in admission order. */
  admit: string[];
  /** Distinct paths this write had to leave out of the counters. */
  refused: string[];
}

/**
 * Applies the cap to one collection's counter deltas. Deltas come from
 * `schemaDeltas`, whose order is first-seen order over the batch (events in
 * order, each event's paths depth-first), so walking them admits new paths in
 * the order the batch's events first carried them. A path, once admitted,
 * counts every type forever; a parent object is always visited before its
 * children, so a child is never admitted without its parent.
 */
export function admitDeltas(
  deltas: SchemaDelta[],
  view: AdmittedView,
  maxProperties: number,
): Admission {
  const decided = new Map<string, boolean>();
  const admission: Admission = { deltas: [], admit: [], refused: [] };
  let count = view.admittedCount;
  for (const d of deltas) {
    let admitted = decided.get(d.path);
    if (admitted === undefined) {
      admitted = isReservedPath(d.path) || view.isAdmitted(d.path);
      if (!admitted && count < maxProperties) {
        admitted = true;
        count++;
        admission.admit.push(d.path);
      } else if (!admitted) {
        admission.refused.push(d.path);
      }
      decided.set(d.path, admitted);
    }
    if (admitted) admission.deltas.push(d);
  }
  return admission;
}

/** The distinct paths of these deltas whose admission a writer must look up (reserved ones never need it). */
export function pathsToLookUp(deltas: SchemaDelta[]): string[] {
  return [...new Set(deltas.map((d) => d.path).filter((p) => !isReservedPath(p)))];
}

export interface RecountResult {
  /** The exact counters of the admitted paths (delta = count). */
  counters: SchemaDelta[];
  /** Paths the recount admitted to fill free slots, in admission order. */
  admit: string[];
  /** Whether some event has a path outside the admitted set. */
  capped: boolean;
}

type FirstSeen = [timestamp: number, id: string, position: number];

function earlier(a: FirstSeen, b: FirstSeen): boolean {
  return a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
}

/**
 * An exact recount of one collection under the cap. The admitted set already
 * stored is kept (a slot, once taken, stays taken: deletes do not free it, so
 * writes never have to revisit older events); free slots, if any (the cap was
 * raised, or counters predate it), are filled in first-seen order by
 * (keen.timestamp, keen.id, position in the event), whatever order the store
 * scans in. In normal operation every path of every stored event is either
 * admitted or was refused while the set was full, so the recount equals the
 * incremental counters.
 */
export class SchemaRecount {
  private readonly counts = new Map<string, SchemaDelta>();
  private readonly candidates = new Map<string, FirstSeen>();
  private readonly admitted: Set<string>;

  constructor(
    private readonly collection: string,
    admitted: Iterable<string>,
    private readonly maxProperties: number,
  ) {
    this.admitted = new Set(admitted);
  }

  add(event: StoredEvent): void {
    let position = 0;
    forEachProperty(event.event, (path, type) => {
      const key = `${path}\u0000${type}`;
      const found = this.counts.get(key);
      if (found) found.delta++;
      else this.counts.set(key, { collection: this.collection, path, type, delta: 1 });
      if (!isReservedPath(path) && !this.admitted.has(path)) {
        const seen: FirstSeen = [event.timestamp, event.id, position];
        const before = this.candidates.get(path);
        if (!before || earlier(seen, before)) this.candidates.set(path, seen);
      }
      position++;
    });
  }

  result(): RecountResult {
    const free = Math.max(0, this.maxProperties - this.admitted.size);
    const ordered = [...this.candidates].sort((a, b) =>
      earlier(a[1], b[1]) ? -1 : earlier(b[1], a[1]) ? 1 : 0,
    );
    const admit = ordered.slice(0, free).map(([path]) => path);
    const counted = new Set([...this.admitted, ...admit]);
    const counters = [...this.counts.values()]
      .filter((d) => isReservedPath(d.path) || counted.has(d.path))
      .sort((a, b) =>
        a.path < b.path ? -1 : a.path > b.path ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
      );
    return { counters, admit, capped: ordered.length > free };
  }
}
