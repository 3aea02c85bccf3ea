import { JsonObject, JsonValue } from '@app/events';
import { EventSource } from '../event-source.port';
import { compileFilters, EventPredicate } from '../filters/compile-filters';
import { FunnelQuery, FunnelStep, QueryResponse } from '../query.types';
import { resolveTimeframe } from '../timeframe/timeframe';
import { compilePath } from '../values/property-path';
import { compareJson, valueKey } from '../values/total-order';
import { QueryRun } from './query-run';
import { buildScanRequest, scanPages } from './scan-pages';
import { slicedArray, slicedSort } from '../analyses/sliced-sort';

type ActorSet = Map<unknown, JsonValue>;

/**
 * Keen funnels are set-based: step k counts the actors (distinct values of
 * its actor_property, among events matching its collection, timeframe and
 * filters) that are also in the previous non-optional step's set. No time
 * ordering between steps is enforced. `inverted` counts the previous set's
 * actors that did NOT do the step; `optional` steps are reported but do not
 * narrow later steps. Missing or null actor values are ignored.
 */
export async function runFunnel(
  query: FunnelQuery,
  source: EventSource,
  run: QueryRun,
): Promise<QueryResponse> {
  const result: number[] = [];
  const actors: (JsonValue[] | null)[] = [];
  let gate: ActorSet | undefined;
  // Every step's filters are compiled (and checked against the limits) before any scan.
  const preds = query.steps.map((step) => compileFilters(step.filters, run.filterOptions()));
  for (const [i, step] of query.steps.entries()) {
    // Only actors already in the gate can matter, for inverted steps too (gate − did).
    const did = await actorsOf(step, preds[i], source, run, gate);
    let set: ActorSet;
    if (step.inverted) {
      set = new Map();
      // The gate may hold up to maxValuesInMemory actors: walked in slices.
      let seen = 0;
      for (const [k, v] of gate ?? new Map()) {
        if (!did.has(k)) set.set(k, v);
        if ((++seen & 4095) === 0) await run.slice.breathe();
      }
    } else {
      set = did;
    }
    result.push(set.size);
    actors.push(
      step.with_actors
        ? await slicedSort(await slicedArray(set.values(), run.slice), compareJson, run.slice)
        : null,
    );
    if (!step.optional) gate = set;
  }
  const response: QueryResponse = { result, steps: query.steps.map(echoStep) };
  if (query.steps.some((s) => s.with_actors)) response.actors = actors;
  return response;
}

/** Actors who did the step; when `within` is given only its members are kept (bounds memory). */
async function actorsOf(
  step: FunnelStep,
  pred: EventPredicate,
  source: EventSource,
  run: QueryRun,
  within: ActorSet | undefined,
): Promise<ActorSet> {
  const range = resolveTimeframe(step.timeframe, step.timezone, run.now);
  const actor = compilePath(step.actor_property);
  const lo = range ? range.start : -Infinity;
  const hi = range ? range.end : Infinity;
  const { request } = buildScanRequest(run.projectId, step.event_collection, range, step.filters);
  const found: ActorSet = new Map();
  await scanPages(run, source, request, (page) => {
    for (let i = 0; i < page.length; i++) {
      const ev = page[i];
      if (ev.timestamp < lo || ev.timestamp >= hi || !pred(ev.event)) continue;
      const v = actor(ev.event);
      if (v === undefined || v === null) continue;
      const k = valueKey(v);
      if (found.has(k) || (within && !within.has(k))) continue;
      run.budget.take();
      found.set(k, v);
    }
  });
  return found;
}

function echoStep(step: FunnelStep): JsonObject {
  return {
    event_collection: step.event_collection,
    actor_property: step.actor_property,
    filters: step.filters as unknown as JsonValue[],
    timeframe: step.echo.timeframe,
    timezone: step.echo.timezone,
    optional: step.optional,
    inverted: step.inverted,
    with_actors: step.with_actors,
  };
}
