import { Filter } from '../filters/filter.types';
import { ExecutionMetadata, Query } from '../query.types';
import { QueryRun } from './query-run';

/**
 * Keen's execution_metadata. "Properties per event" is the number of distinct
 * properties the query reads from each event (keen.timestamp always, plus
 * filter, target, group_by, actor and projected properties).
 */
export function executionMetadata(
  query: Query,
  run: Pick<QueryRun, 'startedAt' | 'eventsScanned'>,
): ExecutionMetadata {
  const perEvent = propertiesRead(query).size;
  return {
    total_processing_time: (Date.now() - run.startedAt) / 1000,
    events_scanned: run.eventsScanned,
    properties_per_event: perEvent,
    total_properties_scanned: run.eventsScanned * perEvent,
  };
}

function propertiesRead(query: Query): Set<string> {
  const names = new Set<string>(['keen.timestamp']);
  const addFilters = (fs: Filter[]) => {
    for (const f of fs) {
      if (f.operator === 'or') addFilters(f.operands ?? []);
      else names.add(f.property_name);
    }
  };
  switch (query.analysis_type) {
    case 'funnel':
      for (const s of query.steps) {
        names.add(s.actor_property);
        addFilters(s.filters);
      }
      break;
    case 'extraction':
      addFilters(query.filters);
      for (const p of query.property_names ?? []) names.add(p);
      break;
    case 'multi_analysis':
      addFilters(query.filters);
      for (const a of Object.values(query.analyses))
        if (a.target_property) names.add(a.target_property);
      for (const g of query.group_by ?? []) names.add(g);
      break;
    default:
      addFilters(query.filters);
      if (query.target_property) names.add(query.target_property);
      for (const g of query.group_by ?? []) names.add(g);
  }
  return names;
}
