import { PropertyType } from '@app/schema';

/**
 * Counters live in one document per (project, collection), as
 * `counts.<encoded path>.<type>`. Property paths are dotted (`user.id`), and
 * dots would address sub-documents in an update, so each path is encoded
 * injectively: `%` → `%25`, `.` → `%2E`, `$` → `%24`.
 */
export function encodePath(path: string): string {
  return path.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\$/g, '%24');
}

export function decodePath(key: string): string {
  return key.replace(/%2E/g, '.').replace(/%24/g, '$').replace(/%25/g, '%');
}

export function counterField(path: string, type: PropertyType): string {
  return `counts.${encodePath(path)}.${type}`;
}

export function schemaDocId(projectId: string, collection: string): string {
  return JSON.stringify([projectId, collection]);
}

/** What a schema document holds. */
export interface SchemaDoc {
  _id: string;
  p: string;
  c: string;
  counts?: Record<string, Partial<Record<PropertyType, number>>>;
  /** Paths admitted under the property cap (`props.<encoded path>: 1`); the set never shrinks. */
  props?: Record<string, 1>;
  /** Bumped by every update that admits paths: admissions are compare-and-set on it. */
  v?: number;
  /** Some stored event has a path that was not admitted. */
  capped?: boolean;
  /** Write markers registered but not applied yet (see docs/queue.md). */
  pending?: { a: string; at: Date }[];
}
