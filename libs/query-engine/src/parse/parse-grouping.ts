import { badParam } from '../query-errors';
import { OrderBy } from '../query.types';
import { Interval, parseInterval } from '../timeframe/interval';
import { Timeframe } from '../timeframe/timeframe';
import { isAbsent, jsonParam, numberParam, Params, stringListParam } from './params';

const MAX_GROUP_BY = 10;

export interface ParsedGrouping {
  group_by?: string[];
  interval?: Interval;
  order_by?: OrderBy[];
  limit?: number;
}

/**
 * group_by / interval / order_by / limit, with Keen's dependencies between
 * them: interval needs a timeframe, order_by needs group_by, limit needs
 * order_by. `orderable` lists the names order_by may use besides group_by
 * properties (`result`, or multi_analysis labels).
 */
export function parseGrouping(
  params: Params,
  timeframe: Timeframe | undefined,
  orderable: string[],
): ParsedGrouping {
  const group_by = stringListParam(params, 'group_by');
  if (group_by && group_by.length > MAX_GROUP_BY) {
    throw badParam(`group_by accepts at most ${MAX_GROUP_BY} properties`);
  }
  const interval = parseInterval(params.interval);
  if (interval && !timeframe) throw badParam('interval requires a timeframe');
  const order_by = parseOrderBy(params, group_by, orderable);
  const limit = numberParam(params, 'limit', { integer: true, min: 1 });
  if (limit !== undefined && !order_by) throw badParam('limit requires order_by');
  return { group_by, interval, order_by, limit };
}

function parseOrderBy(
  params: Params,
  groupBy: string[] | undefined,
  orderable: string[],
): OrderBy[] | undefined {
  const raw = jsonParam(params, 'order_by');
  if (isAbsent(raw)) return undefined;
  if (!groupBy) throw badParam('order_by requires group_by');
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) return undefined;
  const allowed = new Set([...orderable, ...groupBy]);
  return list.map((item, i) => {
    const at = `order_by[${i}]`;
    const spec =
      typeof item === 'string' ? { property_name: item } : (item as Record<string, unknown> | null);
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      throw badParam(`${at} must be {property_name, direction}`);
    }
    const name = spec.property_name;
    if (typeof name !== 'string' || !allowed.has(name)) {
      throw badParam(`${at}.property_name must be one of ${[...allowed].join(', ')}`);
    }
    const dir = isAbsent(spec.direction) ? 'ASC' : String(spec.direction).toUpperCase();
    if (dir !== 'ASC' && dir !== 'DESC') throw badParam(`${at}.direction must be ASC or DESC`);
    return { property_name: name, direction: dir };
  });
}
