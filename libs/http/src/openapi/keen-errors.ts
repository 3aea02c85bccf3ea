import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ref } from './schemas';

/**
 * Every error status Tally, Fastify or Node's HTTP parser can answer, with the
 * reason a client would see it. All are Keen's `{message, error_code}` body
 * (plus `request_id`), so a client needs one error parser for every route.
 */
const ERRORS = {
  400: 'Bad input: malformed JSON, an invalid name, parameter or event; the message names the offending part.',
  401: 'No key, or a key that is not one of this project\'s (InvalidApiKeyError).',
  403: 'The key is valid but lacks this operation\'s access (InsufficientKeyPermissionsError, AdminOnlyEndpointError), ' +
    'or the operation is not allowed on this target (e.g. deleting a keen.* property).',
  404: 'Unknown project, collection, property, analysis or job (ProjectNotFoundError, ResourceNotFoundError).',
  408: 'The request was not received in time (the server closes the connection).',
  413: 'The body, an event or a batch is over its configured size limit (RequestTooLargeError); nothing was stored.',
  414: 'A path parameter is longer than the router accepts.',
  415: 'The body\'s Content-Type cannot be read as JSON (UnsupportedMediaTypeError).',
  429: 'Over a per-project limit (write rate, concurrent queries, deletes); nothing was done; retry after Retry-After seconds.',
  431: 'The request headers are larger than the server accepts.',
  503: 'The queue or the event store is unavailable, or the server is shutting down; retry after Retry-After seconds. ' +
    'A write answered 503 was not stored.',
  504: 'The query ran past its deadline (QueryTimeoutError).',
  507: 'The event store is out of space (InsufficientStorageError); nothing was written. Retry after Retry-After ' +
    'seconds, once an operator has freed space.',
} as const;

export type ErrorStatus = keyof typeof ERRORS;

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
};

/** Documents the given error statuses, each with the Keen error body. */
export function KeenErrors(...statuses: ErrorStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: ERRORS[status],
        schema: ref('KeenError'),
        ...(status === 429 || status === 503 || status === 507 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}

/**
 * What any request can meet before or beside its handler: Node's and Fastify's
 * limits on the request itself, and a server that is shutting down or whose
 * store is down.
 */
export const TRANSPORT_ERRORS: ErrorStatus[] = [408, 414, 431, 503];

/** What a request with a JSON body can meet on top: the body parser's refusals. */
export const BODY_ERRORS: ErrorStatus[] = [400, 413, 415];

/** What an operation that writes to the store can meet on top: a full store. */
export const WRITE_ERRORS: ErrorStatus[] = [507];
