import { JsonValue } from '@app/events';
import { parseFilters, ParseFilterOptions } from '../filters/parse-filters';
import { badParam } from '../query-errors';
import { FunnelStep } from '../query.types';
import { parseTimeframe } from '../timeframe/timeframe';
import { parseTimezone } from '../timeframe/timezone';
import { isAbsent, isPropertyPath, jsonParam, Params, toBoolean } from './params';

/**
 * Funnel `steps`. A step without its own timeframe/timezone inherits the
 * funnel's; an inherited absolute timeframe without offsets is read in the
 * step's timezone, so parsing happens per step from the raw values.
 */
export function parseFunnelSteps(
  params: Params,
  maxSteps: number,
  filterOptions: ParseFilterOptions,
): FunnelStep[] {
  const raw = jsonParam(params, 'steps');
  if (isAbsent(raw)) throw badParam('steps is required for a funnel');
  if (!Array.isArray(raw) || raw.length === 0) throw badParam('steps must be a non-empty array');
  if (raw.length > maxSteps) throw badParam(`steps: a funnel has at most ${maxSteps} steps`);
  const topTimeframe = params.timeframe;
  const topTimezone = params.timezone;
  return raw.map((item, i) => {
    const at = `steps[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw badParam(`${at} must be an object`);
    }
    const s = item as Record<string, unknown>;
    if (typeof s.event_collection !== 'string' || s.event_collection === '') {
      throw badParam(`${at}.event_collection is required`);
    }
    if (!isPropertyPath(s.actor_property)) throw badParam(`${at}.actor_property is required`);
    const ownTz = !isAbsent(s.timezone);
    const timezone = parseTimezone(
      ownTz ? s.timezone : topTimezone,
      ownTz ? `${at}.timezone` : 'timezone',
    );
    const ownTf = !isAbsent(s.timeframe);
    const timeframe = parseTimeframe(
      ownTf ? s.timeframe : topTimeframe,
      timezone,
      ownTf ? `${at}.timeframe` : 'timeframe',
    );
    const inverted = toBoolean(s.inverted, `${at}.inverted`) ?? false;
    if (inverted && i === 0) throw badParam(`${at}.inverted is not allowed on the first step`);
    return {
      event_collection: s.event_collection,
      actor_property: s.actor_property,
      timeframe,
      timezone,
      filters: parseFilters(s.filters, `${at}.filters`, filterOptions),
      optional: toBoolean(s.optional, `${at}.optional`) ?? false,
      inverted,
      with_actors: toBoolean(s.with_actors, `${at}.with_actors`) ?? false,
      echo: {
        timeframe: ownTf ? (s.timeframe as JsonValue) : null,
        timezone: ownTz ? (s.timezone as JsonValue) : null,
      },
    };
  });
}
