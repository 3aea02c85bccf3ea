import { JsonObject, JsonValue } from '@app/events';
import { Filter } from './filters/filter.types';
import { Interval } from './timeframe/interval';
import { Timeframe } from './timeframe/timeframe';
import { QueryTimezone } from './timeframe/timezone';

/** Analyses that fold one value per event into a number, a list or a count. */
export type MetricAnalysisType =
  | 'count'
  | 'count_unique'
  | 'sum'
  | 'average'
  | 'minimum'
  | 'maximum'
  | 'median'
  | 'percentile'
  | 'standard_deviation'
  | 'select_unique';

export type AnalysisType = MetricAnalysisType | 'extraction' | 'funnel' | 'multi_analysis';

export interface MetricSpec {
  analysis_type: MetricAnalysisType;
  /** Required by every metric except count. */
  target_property?: string;
  /** 0–100; percentile only. */
  percentile?: number;
}

export type OrderDirection = 'ASC' | 'DESC';

export interface OrderBy {
  /** `result`, a group_by property, or (multi_analysis) an analysis label. */
  property_name: string;
  direction: OrderDirection;
}

interface QueryCommon {
  timezone: QueryTimezone;
  include_metadata: boolean;
  /** Seconds a cached answer may be reused; parsed for the API layer, unused here. */
  max_age?: number;
}

interface CollectionScope extends QueryCommon {
  event_collection: string;
  timeframe?: Timeframe;
  filters: Filter[];
}

interface Grouping {
  group_by?: string[];
  interval?: Interval;
  order_by?: OrderBy[];
  limit?: number;
}

export interface MetricQuery extends CollectionScope, Grouping, MetricSpec {
  analysis_type: MetricAnalysisType;
}

export interface MultiAnalysisQuery extends CollectionScope, Grouping {
  analysis_type: 'multi_analysis';
  /** Label → analysis, in the order the client gave them. */
  analyses: Record<string, MetricSpec>;
}

export interface ExtractionQuery extends CollectionScope {
  analysis_type: 'extraction';
  latest?: number;
  property_names?: string[];
  /** Asynchronous (emailed) extraction; the API layer decides what to do with it. */
  email?: string;
  content_type?: string;
  content_encoding?: string;
}

export interface FunnelStep {
  event_collection: string;
  actor_property: string;
  /** The step's own timeframe, else the funnel's. */
  timeframe?: Timeframe;
  timezone: QueryTimezone;
  filters: Filter[];
  optional: boolean;
  inverted: boolean;
  with_actors: boolean;
  /** The step as the client wrote its timeframe/timezone, echoed in the result. */
  echo: { timeframe: JsonValue; timezone: JsonValue };
}

export interface FunnelQuery extends QueryCommon {
  analysis_type: 'funnel';
  timeframe?: Timeframe;
  steps: FunnelStep[];
}

export type Query = MetricQuery | MultiAnalysisQuery | ExtractionQuery | FunnelQuery;

export interface ExecutionMetadata {
  /** Seconds. */
  total_processing_time: number;
  events_scanned: number;
  properties_per_event: number;
  total_properties_scanned: number;
  /**
   * Tally's addition: which engine answered, the store's own (`compiled`) or
   * the TypeScript engine over the event scan (`reference`); the same as the
   * `x-tally-query-path` header.
   */
  query_path?: 'compiled' | 'reference';
}

/** Exactly the JSON Keen answers with (docs/query-language.md, Result shapes). */
export interface QueryResponse {
  result: JsonValue;
  steps?: JsonObject[];
  actors?: (JsonValue[] | null)[];
  execution_metadata?: ExecutionMetadata;
}
