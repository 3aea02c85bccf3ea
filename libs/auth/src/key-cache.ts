import { MetadataStore, StoredKey } from '@app/storage';
import { Access, forbidden, invalidKey, keyAllows, missingKey, unknownProject } from './access';
import { hashKey, sameHash } from './key-hash';
import { watchKeyCache } from './key-cache.metrics';

export interface KeyCacheOptions {
  refreshMs: number;
  onError?: (error: unknown) => void;
}

/**
 * Projects and keys held in memory and refreshed in the background, so that
 * authenticating a write never waits on the metadata store: a new key works,
 * and a removed one stops working, within one refresh interval.
 */
export class KeyCache {
  private keys = new Map<string, StoredKey>();
  private projects = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private loadedAt = 0;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly options: KeyCacheOptions,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.unwatch ??= watchKeyCache(this);
    this.timer = setInterval(() => {
      this.refresh().catch((error) => this.options.onError?.(error));
    }, this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unwatch?.();
    this.unwatch = null;
  }

  /** Reloads now; concurrent callers share one reload. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const [projects, keys] = await Promise.all([
          this.metadata.listProjects(),
          this.metadata.listKeys(),
        ]);
        this.projects = new Set(projects.map((p) => p.id));
        this.keys = new Map(keys.map((k) => [k.keyHash, k]));
        this.loadedAt = Date.now();
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** When projects and keys were last loaded (epoch ms; 0 before the first load). */
  refreshedAt(): number {
    return this.loadedAt;
  }

  /**
   * Throws the Keen-shaped error for an unknown project, a bad or revoked key,
   * or a key allowed none of `access`.
   */
  authorize(
    projectId: string,
    key: string | undefined,
    access: Access | readonly Access[],
  ): StoredKey {
    if (!this.projects.has(projectId)) throw unknownProject(projectId);
    if (!key) throw missingKey();
    const hash = hashKey(key);
    const found = this.keys.get(hash);
    if (!found || found.projectId !== projectId || !sameHash(found.keyHash, hash))
      throw invalidKey();
    if (found.active === false) throw invalidKey();
    const wanted = typeof access === 'string' ? [access] : access;
    if (!wanted.some((a) => keyAllows(found, a))) throw forbidden(found, access);
    return found;
  }
}
