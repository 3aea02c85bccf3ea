import { TallyError } from '@app/events';

/**
 * Error codes used by the query engine. Keen documents only a few of its
 * codes (TimeframeDefinitionError, ResourceNotFoundError); the rest follow
 * the same naming so Keen clients (which only test for `error_code`) behave.
 */
export const QueryErrorCode = {
  parameter: 'InvalidParameterError',
  filter: 'FilterDefinitionError',
  timeframe: 'TimeframeDefinitionError',
  timezone: 'InvalidTimezoneError',
  interval: 'IntervalDefinitionError',
  limit: 'QueryLimitExceededError',
  timeout: 'QueryTimeoutError',
  notFound: 'ResourceNotFoundError',
} as const;

export const badParam = (message: string): TallyError =>
  new TallyError('invalid', QueryErrorCode.parameter, message);

export const badFilter = (message: string): TallyError =>
  new TallyError('invalid', QueryErrorCode.filter, message);

export const overLimit = (message: string): TallyError =>
  new TallyError('invalid', QueryErrorCode.limit, message);

export const queryTimeout = (message: string): TallyError =>
  new TallyError('timeout', QueryErrorCode.timeout, message);
