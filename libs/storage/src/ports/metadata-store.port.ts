import { JsonObject } from '@app/events';
import { SchemaCounter, SchemaDelta } from '@app/schema';

export const METADATA_STORE = Symbol('METADATA_STORE');

/**
 * `write`, `read` and `master` are the keys a project starts with; `access`
 * is one of Keen's access keys, allowed only what its `permitted` names.
 */
export type KeyRole = 'write' | 'read' | 'master' | 'access';

export const KEY_PERMISSIONS = [
  'writes',
  'queries',
  'saved_queries',
  'cached_queries',
  'datasets',
  'schema',
] as const;
export type KeyPermission = (typeof KEY_PERMISSIONS)[number];

/** An access key's rights as Keen has them; `options` as validated at its last write. */
export interface KeyAccess {
  permitted: KeyPermission[];
  options: JsonObject;
}

export interface Project {
  id: string;
  name: string;
  createdAt: string;
}

/** Keys are stored hashed (sha-256 of the random key); the plain key is shown once. */
export interface StoredKey {
  projectId: string;
  keyHash: string;
  role: KeyRole;
  createdAt: string;
  /** Access keys: the name Keen's clients give them. */
  name?: string;
  /** False once revoked (Keen's revoke keeps the key; unrevoke re-enables it). Absent: true. */
  active?: boolean;
  /** Access keys only. */
  access?: KeyAccess;
}

/** What an update of an access key may change; absent fields stay. */
export interface KeyChanges {
  name?: string;
  active?: boolean;
  access?: KeyAccess;
}

/** One collection's state under the schema property cap (docs/operations.md, "Schema property cap"). */
export interface SchemaCapState {
  /** How many (non-reserved) property paths the collection has admitted. */
  admittedCount: number;
  /** The admitted paths among those asked for; every admitted path when none were named. */
  admitted: string[];
  /** Some stored event has a property path that was not admitted to the counters. */
  capped: boolean;
}

export interface CappedCollection {
  projectId: string;
  collection: string;
}

/** A project's retention: events older than `days` (by keen.timestamp) are deleted by a background job. */
export interface ProjectRetention {
  projectId: string;
  days: number;
}

/**
 * Projects, keys and schema counters. Split deployments keep this in MongoDB;
 * standalone keeps it in the same SQLite file as the events.
 */
export interface MetadataStore {
  createProject(project: Project, keys: StoredKey[]): Promise<void>;
  getProject(projectId: string): Promise<Project | null>;
  listProjects(): Promise<Project[]>;
  /** Every key, for the in-memory key cache the write path authenticates from. */
  listKeys(): Promise<StoredKey[]>;
  /** Adds one hashed key to an existing project (a second key of a role is allowed: rotation). */
  addKey(key: StoredKey): Promise<void>;
  /**
   * Removes the key with this hash if it belongs to this project; true when it
   * did. The key caches stop accepting it at their next refresh.
   */
  revokeKey(projectId: string, keyHash: string): Promise<boolean>;
  /**
   * Changes the key with this hash if it belongs to this project and returns
   * it as stored; null when there is none. Key caches see it at their next refresh.
   */
  updateKey(projectId: string, keyHash: string, changes: KeyChanges): Promise<StoredKey | null>;
  /**
   * Adds the deltas to the counters; a counter that reaches zero is removed.
   * In a capped collection, a decrement of a path the cap never admitted
   * leaves nothing behind: no negative counter, no entry. In an uncapped one
   * an adapter without transactions (MongoDB) may keep a negative counter for
   * a while: a delete can run ahead of a delivery whose counters are not
   * applied yet, and that delivery brings it back to zero.
   */
  applySchemaDeltas(projectId: string, deltas: SchemaDelta[]): Promise<void>;
  getSchema(projectId: string, collection?: string): Promise<SchemaCounter[]>;
  /**
   * The writers' view of the cap (persister, recount; within their unit of
   * work): which of `paths` are admitted (every admitted path when omitted),
   * how many are, and the flag. Readers use listCappedCollections.
   */
  getSchemaCap(projectId: string, collection: string, paths?: string[]): Promise<SchemaCapState>;
  /**
   * Adds paths to the admitted set (idempotent; the set never shrinks) and
   * sets the capped flag. Writers only ever set the flag; a recount may clear it.
   */
  updateSchemaCap(
    projectId: string,
    collection: string,
    admit: string[],
    capped: boolean,
  ): Promise<void>;
  /** Capped collections of one project, or of every project (the write path's cache). */
  listCappedCollections(projectId?: string): Promise<CappedCollection[]>;
  /** Days a project's events are kept (their keen.timestamp); null: kept for ever (the default). */
  getRetention(projectId: string): Promise<number | null>;
  /** Sets (a whole number of days) or, with null, clears a project's retention. */
  setRetention(projectId: string, days: number | null): Promise<void>;
  /** Every project with a retention, in project id order (the retention sweep). */
  listRetentions(): Promise<ProjectRetention[]>;
  /** Readiness: one cheap read answered within the timeout (GET /readyz of the query pool). */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Groups store calls that must commit together (events and the counters they
 * add). SQLite runs them in one transaction; stores without multi-document
 * transactions run them in order and rely on idempotent redelivery instead.
 */
export const UNIT_OF_WORK = Symbol('UNIT_OF_WORK');
export interface UnitOfWork {
  run<T>(work: () => Promise<T>): Promise<T>;
}
