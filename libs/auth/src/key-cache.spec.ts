import { MetadataStore, StoredKey } from '@app/storage';
import { KeyCache } from './key-cache';
import { generateKey, hashKey } from './key-hash';

/** A metadata store reduced to what the cache reads; keys change between reloads. */
function metadataWith(keys: StoredKey[]): MetadataStore {
  return {
    listProjects: async () => [{ id: 'shop', name: 'shop', createdAt: '2024-01-01T00:00:00.000Z' }],
    listKeys: async () => [...keys],
  } as Partial<MetadataStore> as MetadataStore;
}

const stored = (key: string, role: StoredKey['role']): StoredKey => ({
  projectId: 'shop',
  keyHash: hashKey(key),
  role,
  createdAt: '2024-01-01T00:00:00.000Z',
});

describe('KeyCache', () => {
  it('accepts an added key and refuses a revoked one after the next reload', async () => {
    const old = generateKey();
    const added = generateKey();
    const keys = [stored(old, 'write')];
    const cache = new KeyCache(metadataWith(keys), { refreshMs: 60_000 });
    await cache.refresh();
    expect(cache.authorize('shop', old, 'write')).toEqual(keys[0]);
    expect(() => cache.authorize('shop', added, 'write')).toThrow();

    // Rotation as the CLI does it: the new key first, then the old one revoked.
    keys.push(stored(added, 'write'));
    keys.splice(0, 1);
    // Until the reload the cache still holds what it read last.
    expect(cache.authorize('shop', old, 'write').keyHash).toBe(hashKey(old));
    await cache.refresh();
    expect(cache.authorize('shop', added, 'write')).toEqual(stored(added, 'write'));
    expect(() => cache.authorize('shop', old, 'write')).toThrow(
      expect.objectContaining({ kind: 'unauthorized' }),
    );
  });
});
