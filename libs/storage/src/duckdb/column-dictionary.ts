import { ColumnKind } from './column-layout';

/**
 * Maps (property path, kind) to generated column names (`c0`, `c1`, …) and
 * remembers which of them each (project, collection) has used. Paths are
 * tenant text (`a"; DROP TABLE x; --`, `__proto__`, any Unicode), so no path
 * ever becomes part of an SQL identifier: SQL only sees the generated names,
 * and the paths themselves travel as bound parameters into the dictionary
 * table. All lookups are Maps, never objects keyed by tenant text.
 */
export class ColumnDictionary {
  /** path → kind → column name. */
  private readonly byPath = new Map<string, Map<ColumnKind, string>>();
  /** Column names in table order (after the fixed columns). */
  readonly ordered: { name: string; path: string; kind: ColumnKind }[] = [];
  /** project → collection → the column names it has values in. */
  private readonly used = new Map<string, Map<string, Set<string>>>();
  /** project → the column names any of its collections has values in. */
  private readonly byProject = new Map<string, Set<string>>();

  /** The column of (path, kind), if any event ever had one. */
  nameOf(path: string, kind: ColumnKind): string | undefined {
    return this.byPath.get(path)?.get(kind);
  }

  /** Registers a column once it is in the table and the dictionary table, in table order. */
  register(name: string, path: string, kind: ColumnKind): void {
    let kinds = this.byPath.get(path);
    if (kinds === undefined) {
      kinds = new Map();
      this.byPath.set(path, kinds);
    }
    kinds.set(kind, name);
    this.ordered.push({ name, path, kind });
  }

  /** Whether (project, collection) has had a value in `name`. */
  isUsed(projectId: string, collection: string, name: string): boolean {
    return this.used.get(projectId)?.get(collection)?.has(name) ?? false;
  }

  /** Records that (project, collection) has a value in `name`; true when that is new. */
  markUsed(projectId: string, collection: string, name: string): boolean {
    let collections = this.used.get(projectId);
    if (collections === undefined) {
      collections = new Map();
      this.used.set(projectId, collections);
    }
    let names = collections.get(collection);
    if (names === undefined) {
      names = new Set();
      collections.set(collection, names);
    }
    if (names.has(name)) return false;
    names.add(name);
    let ofProject = this.byProject.get(projectId);
    if (ofProject === undefined) {
      ofProject = new Set();
      this.byProject.set(projectId, ofProject);
    }
    ofProject.add(name);
    return true;
  }

  /** Whether any collection of the project has had a value in `name`. */
  projectUses(projectId: string, name: string): boolean {
    return this.byProject.get(projectId)?.has(name) ?? false;
  }

  /** How many columns the project's collections have values in, together. */
  projectColumnCount(projectId: string): number {
    return this.byProject.get(projectId)?.size ?? 0;
  }

  /**
   * The kinds (path) has in (project, collection), with their column names.
   * Compiling against the collection's own kinds rather than the whole
   * table's keeps other tenants' kinds out of its SQL (fewer disjuncts), and
   * one tenant's unstorable strings (kind `u`) from declining another's queries.
   */
  kindsOf(projectId: string, collection: string, path: string): Map<ColumnKind, string> {
    const out = new Map<ColumnKind, string>();
    const kinds = this.byPath.get(path);
    const names = this.used.get(projectId)?.get(collection);
    if (kinds === undefined || names === undefined) return out;
    for (const [kind, name] of kinds) if (names.has(name)) out.set(kind, name);
    return out;
  }
}
