import { isStoreFullError } from './store-full';

/** How much room a store has left, as a probe measured it. */
export interface SpaceReading {
  /** Bytes the store can still grow by: the disk's free space, or a configured cap's room if smaller. */
  freeBytes: number;
  /** What was measured, for the operator: a directory, or the cap's name. */
  where: string;
}

export type SpaceProbe = () => SpaceReading;

/**
 * Below this a store is reported out of space before a write has even failed:
 * a commit needs at least a few pages of journal, so a disk this full refuses
 * writes of any useful size.
 */
export const MIN_FREE_BYTES = 64 * 1024;
/**
 * After a write failed for lack of space, how much the free space must grow
 * before the store counts as having room again (unless a write succeeds
 * first): enough that it is space being freed, not the noise of other files.
 */
export const RECOVERY_MARGIN_BYTES = 1024 * 1024;
/** A store without a probe (MongoDB, Cassandra) counts as full this long after its last full error. */
export const UNPROBED_HOLD_MS = 10_000;

interface FullReport {
  at: number;
  message: string;
  freeAtFailure?: number;
}

/**
 * Whether this process's stores have room to write, for the readiness probe
 * (GET /readyz) — the liveness probe (/healthz) stays ok, since a full disk
 * loses nothing and the process needs no restart.
 *
 * Stores report the writes that failed for lack of space and the writes that
 * succeeded; stores that can measure their room (SQLite: the data dir's file
 * system and SQLITE_MAX_BYTES) register a probe. A store is out of space while
 * its probe says it is nearly full, or after a full error until a write
 * succeeds or its probe shows space freed — so readiness comes back by itself
 * when an operator frees space, even while the load balancer sends no writes.
 * One instance per process (`storeSpace`), like a metrics registry: stores and
 * the exception filter report into it without a dependency on each other.
 */
export class StoreSpace {
  private readonly probes = new Map<string, SpaceProbe>();
  private readonly full = new Map<string, FullReport>();
  private readonly seen = new WeakSet<object>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Registers a store's probe; the returned function removes it (the store closed). */
  watch(store: string, probe: SpaceProbe): () => void {
    this.probes.set(store, probe);
    return () => {
      if (this.probes.get(store) !== probe) return;
      this.probes.delete(store);
      this.full.delete(store);
    };
  }

  /** A write failed with `error`; ignored unless it says the store is full. Reporting one error twice is harmless. */
  reportFull(store: string, error: unknown): void {
    if (!isStoreFullError(error)) return;
    if (typeof error === 'object' && error !== null) {
      if (this.seen.has(error)) return;
      this.seen.add(error);
    }
    const report: FullReport = {
      at: this.clock(),
      message: error instanceof Error ? error.message : String(error),
    };
    const reading = this.read(store);
    if (reading) report.freeAtFailure = reading.freeBytes;
    this.full.set(store, report);
  }

  /** A write committed: the store has room (for writes that size, at least). */
  reportWritten(store: string): void {
    this.full.delete(store);
  }

  /** Why writes cannot be taken now, naming the store and what is full; null when every store has room. */
  problem(): string | null {
    const problems: string[] = [];
    for (const [store, probe] of this.probes) {
      const reading = this.read(store, probe);
      if (reading && reading.freeBytes < MIN_FREE_BYTES) {
        problems.push(`${store}: ${reading.where} has ${reading.freeBytes} bytes free`);
        continue;
      }
      const report = this.full.get(store);
      if (!report) continue;
      if (reading && reading.freeBytes >= (report.freeAtFailure ?? 0) + RECOVERY_MARGIN_BYTES) {
        this.full.delete(store);
        continue;
      }
      problems.push(`${store}: a write failed for lack of space (${report.message})`);
    }
    for (const [store, report] of this.full) {
      if (this.probes.has(store)) continue;
      if (this.clock() - report.at >= UNPROBED_HOLD_MS) {
        this.full.delete(store);
        continue;
      }
      problems.push(`${store}: a write failed for lack of space (${report.message})`);
    }
    return problems.length > 0 ? `The event store is out of space: ${problems.join('; ')}.` : null;
  }

  private read(store: string, probe = this.probes.get(store)): SpaceReading | undefined {
    try {
      return probe?.();
    } catch {
      // A probe that cannot measure (the directory went away) says nothing either way.
      return undefined;
    }
  }
}

/** The process's one instance, read by GET /readyz. */
export const storeSpace = new StoreSpace();
