import { JsonValue } from '@app/events';

export type FilterOperator =
  | 'eq'
  | 'ne'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'exists'
  | 'in'
  | 'contains'
  | 'not_contains'
  | 'within'
  | 'regex'
  | 'or';

/** One validated filter; `or` carries its sub-filters in `operands`. */
export interface Filter {
  property_name: string;
  operator: FilterOperator;
  property_value?: JsonValue;
  operands?: Filter[];
}
