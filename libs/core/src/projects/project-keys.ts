import { KeyRole, MetadataStore, StoredKey } from '@app/storage';
import { TallyError } from '@app/events';
import { generateKey, hashKey } from '@app/auth';

export const KEY_ROLES: readonly KeyRole[] = ['write', 'read', 'master'];

/** What an operator sees of a key: never the key itself, only the start of its hash. */
export interface KeyView {
  role: KeyRole;
  hash_prefix: string;
  created_at: string;
}

export interface CreatedKey extends KeyView {
  /** The plain key, returned once; only its hash is stored. */
  key: string;
}

/** Hash prefixes shown by `keys list` and accepted by `keys revoke`. */
export const SHOWN_PREFIX = 12;
const MIN_PREFIX = 6;

export function assertKeyRole(role: string | undefined): KeyRole {
  if (!KEY_ROLES.includes(role as KeyRole)) {
    throw new TallyError(
      'invalid',
      'InvalidKeyRoleError',
      `A key role is one of ${KEY_ROLES.join(', ')}; got "${role ?? ''}".`,
    );
  }
  return role as KeyRole;
}

async function requireProject(metadata: MetadataStore, projectId: string): Promise<void> {
  if (!(await metadata.getProject(projectId))) {
    throw new TallyError(
      'not_found',
      'ProjectNotFoundError',
      `Project "${projectId}" does not exist.`,
    );
  }
}

const view = (k: StoredKey): KeyView => ({
  role: k.role,
  hash_prefix: k.keyHash.slice(0, SHOWN_PREFIX),
  created_at: k.createdAt,
});

const byRoleThenAge = (a: StoredKey, b: StoredKey) =>
  KEY_ROLES.indexOf(a.role) - KEY_ROLES.indexOf(b.role) ||
  (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0) ||
  (a.keyHash < b.keyHash ? -1 : 1);

async function keysOf(metadata: MetadataStore, projectId: string): Promise<StoredKey[]> {
  await requireProject(metadata, projectId);
  return (await metadata.listKeys()).filter((k) => k.projectId === projectId).sort(byRoleThenAge);
}

/** A project's keys by role, oldest first. */
export async function listProjectKeys(
  metadata: MetadataStore,
  projectId: string,
): Promise<KeyView[]> {
  return (await keysOf(metadata, projectId)).map(view);
}

/** A new key of `role`; the running pools accept it within one key-cache refresh. */
export async function createProjectKey(
  metadata: MetadataStore,
  projectId: string,
  role: KeyRole,
  now = new Date(),
): Promise<CreatedKey> {
  assertKeyRole(role);
  await requireProject(metadata, projectId);
  const key = generateKey();
  const stored: StoredKey = {
    projectId,
    role,
    keyHash: hashKey(key),
    createdAt: now.toISOString(),
  };
  await metadata.addKey(stored);
  return { ...view(stored), key };
}

/**
 * Revokes the one key of the project whose hash starts with `prefix` (at
 * least 6 hex characters; an ambiguous prefix revokes nothing). The running
 * pools refuse it after their next key-cache refresh.
 */
export async function revokeProjectKey(
  metadata: MetadataStore,
  projectId: string,
  prefix: string,
): Promise<KeyView> {
  const wanted = prefix.toLowerCase();
  if (!/^[0-9a-f]+$/.test(wanted) || wanted.length < MIN_PREFIX) {
    throw new TallyError(
      'invalid',
      'InvalidKeyPrefixError',
      `Name the key by at least ${MIN_PREFIX} hex characters of its hash (as "keys list" shows them).`,
    );
  }
  const matches = (await keysOf(metadata, projectId)).filter((k) => k.keyHash.startsWith(wanted));
  if (matches.length === 0) {
    throw new TallyError(
      'not_found',
      'KeyNotFoundError',
      `Project "${projectId}" has no key whose hash starts with ${wanted}.`,
    );
  }
  if (matches.length > 1) {
    throw new TallyError(
      'conflict',
      'AmbiguousKeyPrefixError',
      `${matches.length} keys of project "${projectId}" have hashes starting with ${wanted}; give more characters.`,
    );
  }
  await metadata.revokeKey(projectId, matches[0].keyHash);
  return view(matches[0]);
}

/**
 * Rotation: a new key of `role` first, then every older key of that role is
 * revoked, so there is no moment without a valid key of the role.
 */
export async function rotateProjectKey(
  metadata: MetadataStore,
  projectId: string,
  role: KeyRole,
  now = new Date(),
): Promise<{ created: CreatedKey; revoked: KeyView[] }> {
  const before = (await keysOf(metadata, projectId)).filter((k) => k.role === assertKeyRole(role));
  const created = await createProjectKey(metadata, projectId, role, now);
  const revoked: KeyView[] = [];
  for (const old of before) {
    if (await metadata.revokeKey(projectId, old.keyHash)) revoked.push(view(old));
  }
  return { created, revoked };
}
