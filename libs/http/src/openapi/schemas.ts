import type { ReferenceObject, SchemaObject } from '@nestjs/swagger';

/**
 * The JSON schemas of Tally's bodies, registered once under
 * `components.schemas` (see openapi.ts) and referenced by name from the
 * decorators, so /openapi.json stays readable and every operation that answers
 * the same shape points at the same definition. They describe what the server
 * really sends: a fuzzer validates every response against them.
 */

/**
 * Keen's error body; `request_id` is Tally's addition, matching the log line.
 * It is absent only from the errors Node's HTTP parser raises before a request
 * exists (408, 431, malformed HTTP).
 */
const KeenError: SchemaObject = {
  type: 'object',
  required: ['message', 'error_code'],
  properties: {
    message: { type: 'string', description: 'What went wrong, naming the offending parameter or property.' },
    error_code: { type: 'string', description: 'Keen error name, e.g. InvalidApiKeyError, InvalidPropertyNameError.' },
    request_id: { type: 'string', description: 'The id of this request in the server logs.' },
  },
};

/** Schema-less by design: any JSON object is an event (names and sizes are checked by the server). */
const Event: SchemaObject = {
  type: 'object',
  additionalProperties: true,
  description:
    'Any JSON object. The reserved `keen` object may carry `timestamp` (ISO-8601), `addons` and `uniqueness_token`; ' +
    'property names are at most 256 characters, contain no "." and do not start with "$".',
  example: { item: 'golden widget', price: 2.5, user: { id: 'u1' } },
};

const EventBatch: SchemaObject = {
  type: 'object',
  description: 'Collection name to the events to record in it.',
  additionalProperties: { type: 'array', items: { $ref: '#/components/schemas/Event' } },
  example: { purchases: [{ item: 'golden widget', price: 2.5 }], clicks: [{ page: '/home' }] },
};

const Created: SchemaObject = {
  type: 'object',
  required: ['created'],
  properties: {
    created: { type: 'boolean', enum: [true] },
    schema_capped: {
      type: 'boolean',
      enum: [true],
      description: "Tally's addition: stored in full, but the collection is over its property cap.",
    },
  },
};

const BatchItemResult: SchemaObject = {
  type: 'object',
  required: ['success'],
  properties: {
    success: { type: 'boolean' },
    schema_capped: { type: 'boolean', enum: [true] },
    error: {
      type: 'object',
      required: ['name', 'description'],
      properties: { name: { type: 'string' }, description: { type: 'string' } },
    },
  },
};

const BatchResult: SchemaObject = {
  type: 'object',
  description: 'Per collection, one result per event in the order sent; one bad event never fails the others.',
  additionalProperties: { type: 'array', items: { $ref: '#/components/schemas/BatchItemResult' } },
};

/** `{property_name, operator, property_value}`; `or` nests sub-filters under `operands` or `property_value`. */
const Filter: SchemaObject = {
  type: 'object',
  required: ['operator'],
  properties: {
    property_name: { type: 'string', example: 'price' },
    operator: {
      type: 'string',
      enum: ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'exists', 'in', 'contains', 'not_contains', 'regex', 'within', 'or'],
    },
    property_value: { description: 'A JSON value; an array for `in`, sub-filters for `or`.', example: 2.5 },
    operands: { type: 'array', items: { $ref: '#/components/schemas/Filter' } },
  },
};

const Filters: SchemaObject = { type: 'array', items: { $ref: '#/components/schemas/Filter' } };

const Timeframe: SchemaObject = {
  description: 'A relative name (`this_7_days`, `previous_3_hours`, `today`, …) or an absolute `{start, end}`.',
  oneOf: [
    { type: 'string', example: 'this_7_days' },
    {
      type: 'object',
      required: ['start', 'end'],
      properties: { start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } },
    },
  ],
};

const Timezone: SchemaObject = {
  description: 'Seconds east of UTC, or an IANA zone name.',
  oneOf: [{ type: 'number', example: -28800 }, { type: 'string', example: 'US/Pacific' }],
};

const OrderBy: SchemaObject = {
  description: 'One `{property_name, direction}` or a list of them; needs `group_by`.',
  oneOf: [
    { $ref: '#/components/schemas/OrderByItem' },
    { type: 'array', items: { $ref: '#/components/schemas/OrderByItem' } },
  ],
};

const OrderByItem: SchemaObject = {
  type: 'object',
  required: ['property_name'],
  properties: {
    property_name: { type: 'string', example: 'result' },
    direction: { type: 'string', enum: ['ASC', 'DESC'] },
  },
};

const FunnelStep: SchemaObject = {
  type: 'object',
  required: ['event_collection', 'actor_property'],
  properties: {
    event_collection: { type: 'string', example: 'purchases' },
    actor_property: { type: 'string', example: 'user.id' },
    timeframe: { $ref: '#/components/schemas/Timeframe' },
    timezone: { $ref: '#/components/schemas/Timezone' },
    filters: { $ref: '#/components/schemas/Filters' },
    optional: { type: 'boolean' },
    inverted: { type: 'boolean' },
    with_actors: { type: 'boolean' },
  },
};

const Analyses: SchemaObject = {
  type: 'object',
  description: 'Label to `{analysis_type, target_property?, percentile?}` (multi_analysis); at most 100 labels.',
  minProperties: 1,
  maxProperties: 100,
  additionalProperties: {
    type: 'object',
    required: ['analysis_type'],
    properties: {
      analysis_type: { type: 'string', example: 'sum' },
      target_property: { type: 'string' },
      percentile: { type: 'number' },
    },
  },
  example: { total: { analysis_type: 'sum', target_property: 'price' }, n: { analysis_type: 'count' } },
};

/** The POST form of every query: real JSON types (the GET form carries the same names as text). */
const QueryBody: SchemaObject = {
  type: 'object',
  additionalProperties: true,
  description:
    'Which parameters an analysis needs is in docs/query-language.md; unknown parameters (e.g. `analysis_type`) are ignored.',
  properties: {
    event_collection: { type: 'string', example: 'purchases' },
    target_property: { type: 'string', example: 'price' },
    timeframe: { $ref: '#/components/schemas/Timeframe' },
    timezone: { $ref: '#/components/schemas/Timezone' },
    interval: { type: 'string', description: 'minutely … yearly, or every_N_<unit>; needs a timeframe.', example: 'daily' },
    group_by: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      example: 'item',
    },
    order_by: { $ref: '#/components/schemas/OrderBy' },
    limit: { type: 'integer', minimum: 1, description: 'Needs order_by.' },
    filters: { $ref: '#/components/schemas/Filters' },
    include_metadata: { type: 'boolean' },
    max_age: { type: 'integer', description: 'Serve a cached answer up to this many seconds old.' },
    latest: { type: 'integer', minimum: 1, description: 'extraction: the N newest events.' },
    property_names: { type: 'array', items: { type: 'string' }, description: 'extraction: the properties to return.' },
    email: { type: 'string', format: 'email', maxLength: 254, description: 'extraction: mail the result to this one address instead (answered at once with "Processing…").' },
    content_type: { type: 'string', enum: ['application/json', 'text/csv'], description: 'extraction with email: the file format.' },
    content_encoding: { type: 'string', enum: ['gzip'], description: 'extraction with email: gzip the file.' },
    percentile: { type: 'number', minimum: 0, maximum: 100 },
    steps: { type: 'array', items: { $ref: '#/components/schemas/FunnelStep' } },
    analyses: { $ref: '#/components/schemas/Analyses' },
  },
  example: { event_collection: 'purchases', target_property: 'price', timeframe: 'this_7_days', group_by: 'item' },
};

/** Keen's result shapes vary by analysis (a number, rows, buckets, a map): `result` is any JSON value. */
const QueryResult: SchemaObject = {
  type: 'object',
  required: ['result'],
  properties: {
    result: {
      description:
        'A number or null; a list (group_by rows, interval buckets, select_unique values, extraction events, funnel counts); ' +
        'or an object (multi_analysis).',
      nullable: true,
    },
    steps: { type: 'array', items: { type: 'object' }, description: 'funnel: the steps as run.' },
    actors: { type: 'array', items: { type: 'array', nullable: true }, description: 'funnel: actors per step, with with_actors.' },
    execution_metadata: { type: 'object', description: 'With include_metadata.' },
  },
};

const PropertyType: SchemaObject = {
  type: 'string',
  enum: ['string', 'num', 'bool', 'datetime', 'list', 'object', 'null'],
};

const CollectionSchema: SchemaObject = {
  type: 'object',
  required: ['name', 'properties', 'property_types', 'url'],
  properties: {
    name: { type: 'string' },
    properties: {
      type: 'object',
      description: "Keen's shape: property path to its most frequent type.",
      additionalProperties: { $ref: '#/components/schemas/PropertyType' },
    },
    property_types: {
      type: 'object',
      description: "Tally's addition: every type seen per path, with event counts.",
      additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } },
    },
    url: { type: 'string' },
    schema_capped: { type: 'boolean', enum: [true] },
    max_properties: { type: 'integer' },
  },
};

const PropertySchema: SchemaObject = {
  type: 'object',
  required: ['property_name', 'type', 'url'],
  properties: {
    property_name: { type: 'string' },
    type: { $ref: '#/components/schemas/PropertyType' },
    types: { type: 'object', additionalProperties: { type: 'integer' } },
    url: { type: 'string' },
  },
};

const DeleteJobAccepted: SchemaObject = {
  type: 'object',
  required: ['job_id', 'status_url'],
  properties: { job_id: { type: 'string' }, status_url: { type: 'string' } },
};

const DeleteJob: SchemaObject = {
  type: 'object',
  required: ['id', 'kind', 'collection', 'filters', 'timeframe', 'timezone', 'state', 'events_scanned', 'events_deleted'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['delete', 'delete_property'] },
    collection: { type: 'string' },
    property: { type: 'string', description: 'delete_property: the property removed.' },
    filters: { $ref: '#/components/schemas/Filters' },
    timeframe: {
      nullable: true,
      description: 'As sent: a relative name or {start, end}; null for all time.',
      oneOf: [{ type: 'string' }, { type: 'object' }],
    },
    timezone: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
    events_scanned: { type: 'integer' },
    events_deleted: { type: 'integer' },
    events_updated: { type: 'integer', description: 'delete_property: events rewritten.' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    error: { type: 'string' },
  },
};

const SchemaRecount: SchemaObject = {
  type: 'object',
  required: ['events', 'corrected'],
  properties: {
    events: { type: 'integer', description: 'Events read.' },
    corrected: { type: 'integer', description: 'Counters that were wrong and are now exact.' },
  },
};

const Health: SchemaObject = {
  type: 'object',
  required: ['status', 'pool'],
  properties: {
    status: { type: 'string', enum: ['ok'] },
    pool: { type: 'string', enum: ['ingest', 'query', 'standalone'] },
  },
};

const Ready: SchemaObject = {
  type: 'object',
  required: ['status', 'pool'],
  properties: {
    status: { type: 'string', enum: ['ready'] },
    pool: { type: 'string', enum: ['ingest', 'query', 'standalone'] },
  },
};

const NAME_LISTS: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowed: { type: 'array', items: { type: 'string' }, description: 'Only these names.' },
    blocked: { type: 'array', items: { type: 'string' }, description: 'Never these names.' },
  },
};

const AccessKeyBody: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  description:
    'An access key (docs/access-keys.md). On update, fields left out keep their values; `key`, `key_hash`, ' +
    '`project_id` and `created_date` from a GET may be sent back and are ignored.',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 256 },
    is_active: { type: 'boolean', default: true },
    permitted: {
      type: 'array',
      items: {
        type: 'string',
        enum: ['writes', 'queries', 'saved_queries', 'cached_queries', 'datasets', 'schema'],
      },
    },
    options: {
      type: 'object',
      additionalProperties: false,
      properties: {
        queries: {
          type: 'object',
          properties: { filters: { $ref: '#/components/schemas/Filters' } },
          description: 'Filters AND-ed into every query the key runs; a query cannot remove them.',
        },
        writes: {
          type: 'object',
          properties: {
            autofill: {
              type: 'object',
              description:
                "Deep-merged into every event written with the key; the event's own values win.",
            },
          },
        },
        saved_queries: NAME_LISTS,
        cached_queries: NAME_LISTS,
        datasets: {
          type: 'object',
          properties: {
            operations: {
              type: 'array',
              items: { type: 'string', enum: ['read', 'list', 'retrieve'] },
            },
            allowed: { type: 'object', additionalProperties: { type: 'object' } },
            blocked: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
  },
};

const AccessKey: SchemaObject = {
  type: 'object',
  required: ['key_hash', 'project_id', 'name', 'is_active', 'permitted', 'options', 'created_date'],
  properties: {
    key: {
      type: 'string',
      description:
        'The key itself: answered at creation, and when the URL named the key (never stored).',
    },
    key_hash: {
      type: 'string',
      description: "The key's sha-256; names the key in URLs like the key does.",
    },
    project_id: { type: 'string' },
    name: { type: 'string' },
    is_active: { type: 'boolean' },
    permitted: { type: 'array', items: { type: 'string' } },
    options: { type: 'object' },
    created_date: { type: 'string', format: 'date-time' },
  },
};

export const SCHEMAS: Record<string, SchemaObject> = {
  AccessKeyBody,
  AccessKey,
  KeenError,
  Event,
  EventBatch,
  Created,
  BatchItemResult,
  BatchResult,
  Filter,
  Filters,
  Timeframe,
  Timezone,
  OrderBy,
  OrderByItem,
  FunnelStep,
  Analyses,
  QueryBody,
  QueryResult,
  PropertyType,
  CollectionSchema,
  PropertySchema,
  DeleteJobAccepted,
  DeleteJob,
  SchemaRecount,
  Health,
  Ready,
};

export type SchemaName = keyof typeof SCHEMAS & string;

/** A `$ref` to one of the schemas above. */
export function ref(name: SchemaName): ReferenceObject {
  return { $ref: `#/components/schemas/${name}` };
}
