import { JsonObject, JsonValue, userKeyed } from '@app/events';
import { BucketRow, DatasetDefinition, DatasetStore, DirtyBucket } from '@app/storage';
import { Log } from '../log.port';
import { QueryService } from '../queries/query.service';
import { datasetBuckets, datasetQuery, datasetWindow } from './dataset-definition';

/** The row that says a bucket has been computed (even with no events: then it is the only one). */
export const COMPUTED_KEY = '';

export interface DatasetMaintainerOptions {
  /** Pause between rounds when there was nothing to do (DATASET_REFRESH_MS). */
  idleMs: number;
  /** Buckets computed per round; a round also turns up to 10× as many changes into marks. */
  bucketsPerRound: number;
  /** How long a leased bucket is this process's; past it another process may compute it. */
  leaseMs: number;
  now?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Keeps every cached dataset current, in each process that serves queries:
 *  1. turns the change log (time ranges of written and deleted events, per
 *     collection) into dirty buckets of the datasets over that collection;
 *  2. computes dirty buckets, each as one query over the bucket's time range
 *     grouped by the index properties, through the same QueryService as an
 *     ad-hoc query (so the same engine and the same answers), and replaces the
 *     bucket's rows. A bucket marked again while it was computed stays dirty.
 * A new dataset is built the same way: all of its window marked dirty.
 */
export class DatasetMaintainer {
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<number> | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly store: DatasetStore,
    private readonly queries: QueryService,
    private readonly options: DatasetMaintainerOptions,
    private readonly log?: Log,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.round?.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runRound()
        .then((did) => this.schedule(did > 0 ? 0 : this.options.idleMs))
        .catch((error) => {
          this.log?.warn({ err: error }, 'dataset maintenance round failed; retrying');
          this.schedule(this.options.idleMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** One round now (shared with a round in flight); the work it did. */
  runRound(): Promise<number> {
    this.round ??= (async () => {
      try {
        return (await this.markChanges()) + (await this.computeDirty());
      } finally {
        this.round = null;
      }
    })();
    return this.round;
  }

  /** Rounds until there is nothing left to do (tests, the CLI). */
  async drain(maxRounds = 10_000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) if ((await this.runRound()) === 0) return;
  }

  private async markChanges(): Promise<number> {
    const changes = await this.store.readChanges(this.options.bucketsPerRound * 10);
    if (changes.length === 0) return 0;
    const definitions = await this.store.listDefinitions();
    const now = this.now();
    for (const change of changes) {
      for (const d of definitions) {
        if (d.projectId !== change.projectId || d.collection !== change.collection) continue;
        const buckets = datasetBuckets(d, change.fromMs, change.toMs, datasetWindow(d, now));
        await this.store.markDirty(d.projectId, d.name, buckets);
      }
    }
    await this.store.dropChanges(changes.map((c) => c.id));
    return changes.length;
  }

  private async computeDirty(): Promise<number> {
    const now = this.now();
    const dirty = await this.store.leaseDirty(
      this.options.bucketsPerRound,
      this.options.leaseMs,
      now,
    );
    if (dirty.length === 0) return 0;
    const definitions = new Map<string, DatasetDefinition | null>();
    for (const bucket of dirty) {
      const id = JSON.stringify([bucket.projectId, bucket.name]);
      if (!definitions.has(id)) {
        definitions.set(id, await this.store.getDefinition(bucket.projectId, bucket.name));
      }
      const definition = definitions.get(id);
      if (!definition) {
        // Deleted: finishing stores nothing and drops the mark.
        await this.store.finishBucket(bucket, []);
        continue;
      }
      const window = datasetWindow(definition, now);
      if (bucket.endMs <= window.start) {
        // Out of the window now: nothing to keep.
        await this.store.pruneBefore(bucket.projectId, bucket.name, window.start);
        continue;
      }
      const rows = await computeBucket(this.queries, definition, bucket);
      // Replaced while it was computed: these rows answer the old query. The
      // lease runs out and the new definition's mark is computed again.
      const current = await this.store.getDefinition(bucket.projectId, bucket.name);
      if (current?.updatedAt !== definition.updatedAt) continue;
      await this.store.finishBucket(bucket, rows);
    }
    return dirty.length;
  }
}

/**
 * One bucket's rows: the dataset's query over the bucket, grouped by its
 * index properties (then its own group_by), split by index value. The value
 * per index is what the same query filtered to that index value answers for
 * that bucket: a single result, or its group rows in the engine's order.
 */
export async function computeBucket(
  queries: QueryService,
  definition: DatasetDefinition,
  bucket: Pick<DirtyBucket, 'startMs' | 'endMs'>,
): Promise<BucketRow[]> {
  const parsed = datasetQuery(definition);
  const groupBy = parsed.group_by ?? [];
  const params: JsonObject = { ...definition.query };
  delete params.interval;
  params.timeframe = { start: iso(bucket.startMs), end: iso(bucket.endMs) };
  params.group_by = [...definition.indexBy, ...groupBy];
  const response = await queries.run(definition.projectId, parsed.analysis_type, params);
  const byIndex = new Map<string, JsonValue[]>();
  for (const row of response.result as JsonObject[]) {
    const key = JSON.stringify(definition.indexBy.map((p) => row[p] ?? null));
    let list = byIndex.get(key);
    if (!list) byIndex.set(key, (list = []));
    if (groupBy.length === 0) {
      list.push(row.result);
    } else {
      const group = userKeyed();
      for (const p of groupBy) group[p] = row[p];
      group.result = row.result;
      list.push(group);
    }
  }
  const rows: BucketRow[] = [{ indexKey: COMPUTED_KEY, value: null }];
  for (const [indexKey, values] of byIndex) {
    rows.push({ indexKey, value: groupBy.length === 0 ? values[0] : values });
  }
  return rows;
}
