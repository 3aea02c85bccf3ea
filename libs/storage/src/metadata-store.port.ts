import { SchemaCounter, SchemaDelta } from '@app/schema';

export const METADATA_STORE = Symbol('METADATA_STORE');

export type KeyRole = 'write' | 'read' | 'master';

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
  /** Adds the deltas to the counters; a counter that reaches zero is removed. */
  applySchemaDeltas(projectId: string, deltas: SchemaDelta[]): Promise<void>;
  getSchema(projectId: string, collection?: string): Promise<SchemaCounter[]>;
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
