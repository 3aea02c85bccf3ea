import fc from 'fast-check';
import { loadConfig } from '@app/config';
import { CollectionEvent, JsonObject } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { Stores } from '@app/storage';
import { EventDeleter } from '../deletes/delete-events';
import { persisterFor } from '../persist/persister-for';
import { QueryService } from '../queries/query.service';
import { datasetWindow } from '../datasets/dataset-definition';
import { DatasetMaintainer } from '../datasets/dataset-maintainer';
import { DatasetsService } from '../datasets/datasets.service';

export interface DatasetPropertySubject {
  /** The stores as the product opens them. */
  open(): Promise<Stores>;
  /** Removes what open() left behind (files, servers). */
  dispose(): Promise<void>;
}

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20_261_129;
const DAY = 86_400_000;
const TEAMS = ['red', 'blue', 'grün', '$odd.team'];
const PLANS = ['free', 'pro'];

interface Step {
  kind: 'write' | 'late' | 'redeliver' | 'delete';
  /** write/late: events by (day back, hour, team index or -1 = missing, plan, amount, user). */
  events: [number, number, number, number, number, number][];
  /** delete: amounts at or above this are deleted. */
  amountFrom: number;
}

const analysisArb: fc.Arbitrary<JsonObject> = fc.constantFrom<JsonObject>(
  { analysis_type: 'count' },
  { analysis_type: 'sum', target_property: 'amount' },
  { analysis_type: 'average', target_property: 'amount' },
  { analysis_type: 'minimum', target_property: 'amount' },
  { analysis_type: 'maximum', target_property: 'amount' },
  { analysis_type: 'median', target_property: 'amount' },
  { analysis_type: 'percentile', target_property: 'amount', percentile: 90 },
  { analysis_type: 'standard_deviation', target_property: 'amount' },
  { analysis_type: 'count_unique', target_property: 'user' },
  { analysis_type: 'select_unique', target_property: 'plan' },
);

const definitionArb = fc.record({
  analysis: analysisArb,
  // Daily over weeks (New York's DST change of 1 Nov is inside a 40-day window
  // in November and December), hourly over a few days, in zones with 30-minute offsets too.
  shape: fc.constantFrom(
    { interval: 'daily', timeframe: 'this_40_days' },
    { interval: 'hourly', timeframe: 'this_3_days' },
  ),
  timezone: fc.constantFrom('UTC', 'America/New_York', 'Asia/Kolkata'),
  groupByPlan: fc.boolean(),
  filtered: fc.boolean(),
  twoIndexes: fc.boolean(),
});

const eventArb = fc.tuple(
  fc.integer({ min: 0, max: 45 }),
  fc.integer({ min: 0, max: 23 }),
  fc.integer({ min: -1, max: TEAMS.length - 1 }),
  fc.integer({ min: 0, max: 1 }),
  fc.integer({ min: 0, max: 100 }),
  fc.integer({ min: 0, max: 6 }),
);

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom('write', 'late', 'redeliver', 'delete'),
  events: fc.array(eventArb, { minLength: 1, maxLength: 25 }),
  amountFrom: fc.integer({ min: 50, max: 100 }),
});

/**
 * For random dataset definitions and random event streams (late events,
 * redelivered batches, filtered deletes), once the maintainer has caught up
 * every dataset result equals the live query for the same timeframe and index
 * value, run through the same QueryService as the HTTP endpoints.
 */
export function describeDatasetProperty(
  driver: string,
  subject: () => Promise<DatasetPropertySubject>,
  runs: number,
): void {
  describe(`${driver}: cached datasets equal the live query`, () => {
    let harness: DatasetPropertySubject;
    let stores: Stores;

    beforeAll(async () => {
      harness = await subject();
      stores = await harness.open();
    });
    afterAll(async () => {
      await stores?.close();
      await harness?.dispose();
    });

    it(`holds for random definitions and streams (seed ${SEED}, ${runs} runs)`, async () => {
      const config = loadConfig('query', { DATA_DIR: '/nonexistent' });
      const queries = new QueryService(stores.events, config);
      const datasets = new DatasetsService(stores.datasets);
      const maintainer = new DatasetMaintainer(stores.datasets, queries, {
        idleMs: 60_000,
        bucketsPerRound: 500,
        leaseMs: 60_000,
      });
      const persister = persisterFor(stores);
      const deleter = new EventDeleter(
        stores.events,
        stores.metadata,
        stores.unitOfWork,
        stores.writes,
        stores.datasets,
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          definitionArb,
          fc.array(stepArb, { minLength: 1, maxLength: 5 }),
          async (d, steps) => {
            const projectId = `dprop-${driver}-${process.pid}-${run++}`;
            const collection = 'signups';
            const now = Date.now();
            let n = 0;
            const toEvent = ([
              daysAgo,
              hour,
              team,
              plan,
              amount,
              user,
            ]: Step['events'][number]): CollectionEvent => {
              const timestamp =
                Math.floor(now / 3_600_000) * 3_600_000 - daysAgo * DAY + hour * 3_600_000 - DAY;
              const id = `${projectId}-${(n++).toString(16).padStart(5, '0')}`;
              const body: JsonObject = {
                plan: PLANS[plan],
                amount,
                user: `u${user}`,
                region: hour % 2 ? 'eu' : 'us',
              };
              if (team >= 0) body.team = TEAMS[team];
              const iso = new Date(Math.max(0, timestamp)).toISOString();
              body.keen = { id, timestamp: iso, created_at: iso };
              return { collection, id, timestamp: Math.max(0, timestamp), event: body };
            };
            const query: JsonObject = {
              ...d.analysis,
              event_collection: collection,
              interval: d.shape.interval,
              timeframe: d.shape.timeframe,
              timezone: d.timezone,
            };
            if (d.groupByPlan) query.group_by = ['plan'];
            if (d.filtered)
              query.filters = [{ property_name: 'amount', operator: 'gte', property_value: 10 }];
            const indexBy = d.twoIndexes ? ['team', 'region'] : ['team'];

            const first = steps[0].events.map(toEvent);
            await persister.persist(projectId, first);
            await datasets.put(projectId, 'prop', {
              query,
              index_by: indexBy,
              display_name: 'prop',
            });
            let last = first;
            for (const step of steps) {
              if (step.kind === 'redeliver') await persister.persist(projectId, last);
              else if (step.kind === 'delete') {
                const selection = parseEventSelection({
                  filters: [
                    { property_name: 'amount', operator: 'gte', property_value: step.amountFrom },
                  ],
                });
                await deleter.delete(projectId, collection, selection);
              } else {
                last = step.events.map(toEvent);
                await persister.persist(projectId, last);
              }
              // Late or not, the maintainer catches up between steps half of the time.
              if (step.kind === 'late') await maintainer.drain();
            }
            await maintainer.drain();

            const definition = await datasets.definition(projectId, 'prop');
            const window = datasetWindow(definition, now);
            const timeframe = JSON.stringify({
              start: new Date(window.start).toISOString(),
              end: new Date(window.end).toISOString(),
            });
            const values = d.twoIndexes
              ? TEAMS.flatMap((team) => ['eu', 'us'].map((region) => ({ team, region })))
              : TEAMS.map((team) => team);
            for (const value of values.slice(0, 4)) {
              const index = typeof value === 'string' ? value : JSON.stringify(value);
              const got = await datasets.results(definition, index, timeframe);
              const filters = [
                ...((query.filters as JsonObject[]) ?? []),
                ...(typeof value === 'string'
                  ? [{ property_name: 'team', operator: 'eq', property_value: value }]
                  : Object.entries(value).map(([p, v]) => ({
                      property_name: p,
                      operator: 'eq',
                      property_value: v,
                    }))),
              ];
              const want = await queries.run(projectId, String(query.analysis_type), {
                ...query,
                timeframe,
                filters,
              });
              expect({ index, result: got.result }).toEqual({ index, result: want.result });
            }
            await datasets.delete(projectId, 'prop');
          },
        ),
        { seed: SEED, numRuns: runs, endOnFailure: true },
      );
    }, 600_000);
  });
}
