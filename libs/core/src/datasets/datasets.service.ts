import { JsonObject, JsonValue, parseJsonText, TallyError, userKeyed } from '@app/events';
import {
  compareJson,
  executeQuery,
  parseQuery,
  parseTimeframe,
  QueryLimits,
  resolveTimeframe,
} from '@app/query-engine';
import { DatasetDefinition, DatasetStore } from '@app/storage';
import {
  datasetBuckets,
  datasetQuery,
  datasetWindow,
  onGrid,
  parseDatasetBody,
} from './dataset-definition';
import { COMPUTED_KEY } from './dataset-maintainer';

/** A dataset as GET answers it (Keen's fields, plus the build's progress). */
export interface DatasetView {
  project_id: string;
  dataset_name: string;
  display_name: string;
  query: JsonObject;
  index_by: string[];
  created_date: string;
  last_modified_date: string;
  /** `Building` until every bucket of the window has been computed, then `OK`. */
  status: 'Building' | 'OK';
  /** Buckets waiting to be computed (new events or deletes mark theirs). */
  buckets_pending: number;
}

export interface DatasetResults {
  result: { value: JsonValue; timeframe: { start: string; end: string } }[];
}

/** Datasets one project may have; each costs a query per changed bucket. */
export const MAX_DATASETS = 100;

const iso = (ms: number) => new Date(ms).toISOString();

function notFound(name: string): TallyError {
  return new TallyError(
    'not_found',
    'ResourceNotFoundError',
    `No dataset named "${name.slice(0, 100)}".`,
  );
}

function badResults(message: string): TallyError {
  return new TallyError('invalid', 'InvalidDatasetQueryError', message);
}

/**
 * A key's forced filters on a dataset: its values were computed without
 * them, so a read is allowed only when each filter is an `eq` on an index
 * property, equal to the value asked for; the answer is then exactly the
 * live query with the filters.
 */
function assertFiltersHold(
  definition: DatasetDefinition,
  values: JsonValue[],
  filters: unknown[],
): void {
  for (const f of filters) {
    const filter = f as { property_name?: unknown; operator?: unknown; property_value?: unknown };
    const i = definition.indexBy.indexOf(String(filter.property_name));
    const holds =
      filter.operator === 'eq' &&
      i >= 0 &&
      JSON.stringify(filter.property_value) === JSON.stringify(values[i]);
    if (!holds) {
      throw new TallyError(
        'forbidden',
        'InsufficientKeyPermissionsError',
        "This access key has forced query filters, and this dataset's values were computed without them: " +
          'it may read only the index values its filters select (an eq filter on an index property).',
      );
    }
  }
}

function assertIndexAllowed(
  definition: DatasetDefinition,
  values: JsonValue[],
  allowed: Record<string, unknown>,
): void {
  definition.indexBy.forEach((property, i) => {
    const list = allowed[property];
    if (!Array.isArray(list)) return;
    const wanted = JSON.stringify(values[i]);
    if (!list.some((v) => JSON.stringify(v) === wanted)) {
      throw new TallyError(
        'forbidden',
        'InsufficientKeyPermissionsError',
        `This access key may not read "${property.slice(0, 100)}" = ${wanted.slice(0, 100)} of this dataset (options.datasets.allowed).`,
      );
    }
  });
}

/** Cached datasets: definitions, their build status, and results read from the stored buckets. */
export class DatasetsService {
  private readonly empties = new Map<string, Promise<JsonValue>>();

  constructor(
    private readonly store: DatasetStore,
    private readonly limits: Partial<QueryLimits> = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates or replaces; a new or changed dataset is built again from the events (its whole window). */
  async put(
    projectId: string,
    name: string,
    body: unknown,
  ): Promise<{ created: boolean; view: DatasetView }> {
    const definition = parseDatasetBody(projectId, name, body, new Date(this.now()), this.limits);
    const old = await this.store.getDefinition(projectId, name);
    if (!old && (await this.store.listDefinitions(projectId)).length >= MAX_DATASETS) {
      throw new TallyError(
        'invalid',
        'TooManyDatasetsError',
        `Project "${projectId.slice(0, 100)}" has ${MAX_DATASETS} datasets, the most it may have; delete one first.`,
      );
    }
    if (old) definition.createdAt = old.createdAt;
    const created = await this.store.putDefinition(definition);
    const window = datasetWindow(definition, this.now());
    await this.store.markDirty(
      projectId,
      name,
      datasetBuckets(definition, window.start, window.end, window),
    );
    return { created, view: await this.view(definition) };
  }

  async get(projectId: string, name: string): Promise<DatasetView> {
    return this.view(await this.definition(projectId, name));
  }

  /** Keen's list: `{datasets, next_page_url}`, by name, `limit` per page after `after_name`. */
  async list(
    projectId: string,
    limit = 10,
    afterName?: string,
  ): Promise<{ datasets: DatasetView[]; next_page_url: string | null }> {
    const all = (await this.store.listDefinitions(projectId)).filter(
      (d) => afterName === undefined || d.name > afterName,
    );
    const page = all.slice(0, Math.max(1, Math.min(limit, 100)));
    const more = all.length > page.length;
    return {
      datasets: await Promise.all(page.map((d) => this.view(d))),
      next_page_url: more
        ? `/3.0/projects/${encodeURIComponent(projectId)}/datasets?limit=${page.length}&after_name=${encodeURIComponent(page[page.length - 1].name)}`
        : null,
    };
  }

  async delete(projectId: string, name: string): Promise<void> {
    if (!(await this.store.deleteDefinition(projectId, name))) throw notFound(name);
    this.empties.delete(JSON.stringify([projectId, name]));
  }

  async definition(projectId: string, name: string): Promise<DatasetDefinition> {
    const found = await this.store.getDefinition(projectId, name);
    if (!found) throw notFound(name);
    return found;
  }

  /**
   * The dataset's answer for one index value over a timeframe of whole
   * buckets inside its window: the same `[{value, timeframe}]` as the live
   * query with the index as an `eq` filter, read from the stored buckets.
   */
  async results(
    definition: DatasetDefinition,
    indexParam: unknown,
    timeframeParam: unknown,
    /** What an access key may read (assertDatasetAccess): index values, forced filters. */
    limits: { allowedIndex?: Record<string, unknown>; forcedFilters?: unknown[] } = {},
  ): Promise<DatasetResults> {
    const values = this.indexValues(definition, indexParam);
    if (limits.allowedIndex) assertIndexAllowed(definition, values, limits.allowedIndex);
    if (limits.forcedFilters) assertFiltersHold(definition, values, limits.forcedFilters);
    const indexKey = JSON.stringify(values);
    const query = datasetQuery(definition, this.limits);
    const now = this.now();
    const timeframe = parseTimeframe(timeframeParam ?? query.timeframe!.raw, query.timezone);
    const range = resolveTimeframe(timeframe, query.timezone, now)!;
    const window = datasetWindow(definition, now);
    if (range.start < window.start || range.end > window.end) {
      throw badResults(
        `The timeframe ${iso(range.start)} – ${iso(range.end)} reaches outside the dataset's window ` +
          `(${query.timeframe!.raw}: ${iso(window.start)} – ${iso(window.end)}).`,
      );
    }
    if (!onGrid(definition, range.start) || !onGrid(definition, range.end)) {
      throw badResults(
        `The timeframe must start and end on "${query.interval!.raw}" buckets in ${query.timezone}.`,
      );
    }
    const buckets = datasetBuckets(definition, range.start, range.end, window);
    const { projectId, name } = definition;
    const computed = new Set(
      (await this.store.readRows(projectId, name, COMPUTED_KEY, range.start, range.end)).map(
        (r) => r.startMs,
      ),
    );
    const missing = buckets.filter((b) => !computed.has(b.startMs)).length;
    if (missing > 0) {
      throw new TallyError(
        'unavailable',
        'DatasetNotReadyError',
        `The dataset is still being built: ${missing} of the ${buckets.length} buckets asked for are not computed yet.`,
        5,
      );
    }
    const stored = new Map(
      (await this.store.readRows(projectId, name, indexKey, range.start, range.end)).map((r) => [
        r.startMs,
        r.value,
      ]),
    );
    const empty = await this.emptyValue(definition);
    const groupBy = query.group_by ?? [];
    if (groupBy.length === 0) {
      return {
        result: buckets.map((b) => ({
          value: stored.get(b.startMs) ?? empty,
          timeframe: { start: iso(b.startMs), end: iso(b.endMs) },
        })),
      };
    }
    // As the live query answers: every bucket lists every group seen in the
    // timeframe, in the engine's order, empty ones with the empty value.
    const groups = new Map<string, JsonValue[]>();
    for (const value of stored.values()) {
      for (const row of value as JsonObject[]) {
        const values = groupBy.map((p) => row[p]);
        groups.set(JSON.stringify(values), values);
      }
    }
    const order = [...groups.entries()].sort(([, a], [, b]) => {
      for (let i = 0; i < a.length; i++) {
        const c = compareJson(a[i], b[i]);
        if (c !== 0) return c;
      }
      return 0;
    });
    return {
      result: buckets.map((b) => {
        const rows = new Map(
          ((stored.get(b.startMs) as JsonObject[] | undefined) ?? []).map((r) => [
            JSON.stringify(groupBy.map((p) => r[p])),
            r,
          ]),
        );
        const value = order.map(([key, values]) => {
          const found = rows.get(key);
          if (found) return found;
          const row = userKeyed();
          groupBy.forEach((p, i) => (row[p] = values[i]));
          row.result = empty;
          return row;
        });
        return { value, timeframe: { start: iso(b.startMs), end: iso(b.endMs) } };
      }),
    };
  }

  /**
   * `index_by` as Keen's clients send it: the value itself when the dataset
   * has one index property, or a JSON object of property → value.
   */
  private indexValues(definition: DatasetDefinition, raw: unknown): JsonValue[] {
    if (typeof raw !== 'string' || raw.length === 0) {
      throw badResults(
        `"index_by" is required: the value of ${definition.indexBy.join(', ')} to read.`,
      );
    }
    let values: JsonValue[];
    const text = raw.trim();
    if (text.startsWith('{')) {
      const given = parseJsonText(text, 'index_by');
      if (typeof given !== 'object' || given === null || Array.isArray(given)) {
        throw badResults('"index_by" must be a value or a JSON object of the index properties.');
      }
      const object = given as JsonObject;
      const extra = Object.keys(object).find((k) => !definition.indexBy.includes(k));
      if (extra)
        throw badResults(
          `"index_by" names "${extra.slice(0, 100)}", which the dataset is not indexed by.`,
        );
      values = definition.indexBy.map((p) => {
        if (!Object.hasOwn(object, p)) throw badResults(`"index_by" needs a value for "${p}".`);
        return object[p];
      });
    } else if (definition.indexBy.length === 1) {
      values = [raw];
    } else {
      throw badResults(
        `This dataset is indexed by ${definition.indexBy.join(', ')}: send "index_by" as a JSON object of them.`,
      );
    }
    return values;
  }

  /** The analysis over no events (count 0, average null, …), as the engine itself answers it. */
  private emptyValue(definition: DatasetDefinition): Promise<JsonValue> {
    const id = JSON.stringify([definition.projectId, definition.name, definition.updatedAt]);
    let empty = this.empties.get(id);
    if (!empty) {
      const params: JsonObject = { ...definition.query };
      delete params.interval;
      delete params.group_by;
      params.timeframe = { start: iso(0), end: iso(1) };
      const query = parseQuery(String(definition.query.analysis_type), params, this.limits);
      empty = executeQuery(
        query,
        { scan: async function* () {} },
        { projectId: definition.projectId },
      ).then((r) => r.result);
      this.empties.set(id, empty);
    }
    return empty;
  }

  private async view(d: DatasetDefinition): Promise<DatasetView> {
    const pending = await this.store.countDirty(d.projectId, d.name);
    return {
      project_id: d.projectId,
      dataset_name: d.name,
      display_name: d.displayName,
      query: d.query,
      index_by: d.indexBy,
      created_date: d.createdAt,
      last_modified_date: d.updatedAt,
      status: pending > 0 ? 'Building' : 'OK',
      buckets_pending: pending,
    };
  }
}
