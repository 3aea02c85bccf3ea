import { JsonObject, TallyError } from '@app/events';
import { generateKey, hashKey } from '@app/auth';
import { ParseFilterOptions } from '@app/query-engine';
import { KeyAccess, MetadataStore, StoredKey } from '@app/storage';
import { parseAccessKeyBody } from './access-key-body';

/** Keen's access-key object; `key` only when the caller knows it (create, or a lookup by key). */
export interface AccessKeyView {
  key?: string;
  /** The key's sha-256: what a list shows instead of the key, which is never stored. */
  key_hash: string;
  project_id: string;
  name: string;
  is_active: boolean;
  permitted: string[];
  options: JsonObject;
  created_date: string;
}

/** Access keys one project may have; each is checked on every request of the pools. */
export const MAX_ACCESS_KEYS = 1000;

const HEX_64 = /^[0-9a-f]{64}$/;

function view(k: StoredKey, plain?: string): AccessKeyView {
  const out: AccessKeyView = {
    key_hash: k.keyHash,
    project_id: k.projectId,
    name: k.name ?? '',
    is_active: k.active !== false,
    permitted: [...(k.access?.permitted ?? [])],
    options: k.access?.options ?? {},
    created_date: k.createdAt,
  };
  return plain === undefined ? out : { key: plain, ...out };
}

function notFound(projectId: string): TallyError {
  return new TallyError(
    'not_found',
    'ResourceNotFoundError',
    `Project "${projectId.slice(0, 100)}" has no access key by that key or key_hash.`,
  );
}

/**
 * The management side of Keen's access keys (master key only, in the query
 * pool). Keys are stored hashed: the plain key is answered once, at creation.
 * A key is named in a URL by itself or by its `key_hash`. The project's three
 * role keys are not access keys and cannot be changed here.
 */
export class AccessKeys {
  constructor(
    private readonly metadata: MetadataStore,
    /** The query limits, so a forced filter is held to what a query's own filter is. */
    private readonly filterLimits: ParseFilterOptions = {},
  ) {}

  async create(projectId: string, body: unknown, now = new Date()): Promise<AccessKeyView> {
    const fields = parseAccessKeyBody(body, true, this.filterLimits);
    const existing = await this.ofProject(projectId);
    if (existing.length >= MAX_ACCESS_KEYS) {
      throw new TallyError(
        'invalid',
        'TooManyAccessKeysError',
        `Project "${projectId.slice(0, 100)}" has ${existing.length} access keys, the most it may have; delete one first.`,
      );
    }
    const key = generateKey();
    const stored: StoredKey = {
      projectId,
      keyHash: hashKey(key),
      role: 'access',
      createdAt: now.toISOString(),
      name: fields.name,
      active: fields.isActive ?? true,
      access: { permitted: fields.permitted ?? [], options: fields.options ?? {} },
    };
    await this.metadata.addKey(stored);
    return view(stored, key);
  }

  async list(projectId: string): Promise<AccessKeyView[]> {
    return (await this.ofProject(projectId)).map((k) => view(k));
  }

  async get(projectId: string, ref: string): Promise<AccessKeyView> {
    const found = await this.find(projectId, ref);
    return view(found.key, found.plain);
  }

  /** Keen's POST /keys/{key}: changes the fields the body names, keeps the others. */
  async update(projectId: string, ref: string, body: unknown): Promise<AccessKeyView> {
    const fields = parseAccessKeyBody(body, false, this.filterLimits);
    const { key, plain } = await this.find(projectId, ref);
    const access: KeyAccess | undefined =
      fields.permitted || fields.options
        ? {
            permitted: fields.permitted ?? key.access?.permitted ?? [],
            options: fields.options ?? key.access?.options ?? {},
          }
        : undefined;
    const updated = await this.metadata.updateKey(projectId, key.keyHash, {
      name: fields.name,
      active: fields.isActive,
      access,
    });
    if (!updated) throw notFound(projectId);
    return view(updated, plain);
  }

  /** Revoke (false) keeps the key, refused everywhere; unrevoke (true) re-enables it. */
  async setActive(projectId: string, ref: string, active: boolean): Promise<AccessKeyView> {
    const { key, plain } = await this.find(projectId, ref);
    const updated = await this.metadata.updateKey(projectId, key.keyHash, { active });
    if (!updated) throw notFound(projectId);
    return view(updated, plain);
  }

  async delete(projectId: string, ref: string): Promise<void> {
    const { key } = await this.find(projectId, ref);
    if (!(await this.metadata.revokeKey(projectId, key.keyHash))) throw notFound(projectId);
  }

  private async ofProject(projectId: string): Promise<StoredKey[]> {
    if (!(await this.metadata.getProject(projectId))) {
      throw new TallyError(
        'not_found',
        'ProjectNotFoundError',
        `Project "${projectId.slice(0, 100)}" does not exist.`,
      );
    }
    return (await this.metadata.listKeys())
      .filter((k) => k.projectId === projectId && k.role === 'access')
      .sort((a, b) =>
        a.createdAt < b.createdAt
          ? -1
          : a.createdAt > b.createdAt
            ? 1
            : a.keyHash < b.keyHash
              ? -1
              : 1,
      );
  }

  private async find(projectId: string, ref: string): Promise<{ key: StoredKey; plain?: string }> {
    const keys = await this.ofProject(projectId);
    const wanted = ref.toLowerCase();
    if (HEX_64.test(wanted)) {
      const hash = hashKey(wanted);
      const byKey = keys.find((k) => k.keyHash === hash);
      if (byKey) return { key: byKey, plain: wanted };
      const byHash = keys.find((k) => k.keyHash === wanted);
      if (byHash) return { key: byHash };
    }
    throw notFound(projectId);
  }
}
