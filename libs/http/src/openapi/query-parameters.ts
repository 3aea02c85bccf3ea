import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { ref, SchemaName } from './schemas';

/**
 * Keen's GET transport: scalars raw, structures as JSON text. A structured
 * parameter is described with `content: application/json`, which is how
 * OpenAPI says "this query value is a JSON document", so clients and fuzzers
 * serialize it the way Keen's SDKs do.
 */
function jsonQuery(name: string, schema: SchemaName | object, description: string) {
  return ApiQuery({
    name,
    required: false,
    description,
    content: { 'application/json': { schema: typeof schema === 'string' ? ref(schema) : schema } },
  });
}

function textQuery(name: string, schema: object, description: string) {
  return ApiQuery({ name, required: false, description, schema });
}

const timeframe = () =>
  textQuery(
    'timeframe',
    { type: 'string', example: 'this_7_days' },
    'A relative name (this_7_days, previous_3_hours, today…) or absolute {"start","end"} as JSON text.',
  );
const timezone = () =>
  textQuery('timezone', { type: 'string', example: 'UTC' }, 'Seconds east of UTC (-28800) or an IANA zone name.');
const filters = () => jsonQuery('filters', 'Filters', 'JSON array of {property_name, operator, property_value}.');

/** Which events a delete removes (no parameter: the whole collection). */
export function EventSelectionQuery(): MethodDecorator {
  return applyDecorators(timeframe(), timezone(), filters());
}

/** Every parameter of GET …/queries/:analysis; which are required depends on the analysis. */
export function KeenQueryParameters(): MethodDecorator {
  return applyDecorators(
    textQuery('event_collection', { type: 'string', example: 'purchases' }, 'The collection to query (every analysis but funnel).'),
    textQuery('target_property', { type: 'string', example: 'price' }, 'The property analysed (all but count, extraction, funnel, multi_analysis).'),
    timeframe(),
    timezone(),
    textQuery('interval', { type: 'string', example: 'daily' }, 'minutely … yearly or every_N_<unit>; needs a timeframe.'),
    textQuery('group_by', { type: 'string', example: 'item' }, 'A property path, or a JSON array of them.'),
    jsonQuery('order_by', 'OrderBy', 'JSON {property_name, direction} or a list of them; needs group_by.'),
    textQuery('limit', { type: 'integer', minimum: 1 }, 'The first N groups by order_by; needs order_by.'),
    filters(),
    textQuery('include_metadata', { type: 'boolean' }, 'Add execution_metadata to the answer.'),
    textQuery('max_age', { type: 'integer' }, 'Answer from cache if a result at most this many seconds old exists.'),
    textQuery('latest', { type: 'integer', minimum: 1 }, 'extraction: the N newest events.'),
    jsonQuery('property_names', { type: 'array', items: { type: 'string' } }, 'extraction: JSON array of the properties to return.'),
    textQuery('email', { type: 'string', format: 'email', maxLength: 254 }, 'extraction: mail the result to this one address instead (answered at once with "Processing…"; 400 when the server has no SMTP settings).'),
    textQuery('content_type', { type: 'string', enum: ['application/json', 'text/csv'] }, 'extraction with email: the file format (default application/json).'),
    textQuery('content_encoding', { type: 'string', enum: ['gzip'] }, 'extraction with email: gzip the file (files over EXTRACTION_EMAIL_GZIP_BYTES always are).'),
    textQuery('percentile', { type: 'number', minimum: 0, maximum: 100 }, 'percentile: which one, 0-100.'),
    jsonQuery('steps', { type: 'array', items: ref('FunnelStep') }, 'funnel: JSON array of steps.'),
    jsonQuery('analyses', 'Analyses', 'multi_analysis: JSON object of labelled analyses.'),
  );
}

/** The parameters an extraction stream takes (an extraction's, without the async email). */
export function ExtractionQueryParameters(): MethodDecorator {
  return applyDecorators(
    textQuery('event_collection', { type: 'string', example: 'purchases' }, 'The collection to extract.'),
    timeframe(),
    timezone(),
    filters(),
    textQuery('latest', { type: 'integer', minimum: 1 }, 'The N newest events.'),
    jsonQuery('property_names', { type: 'array', items: { type: 'string' } }, 'JSON array of the properties to return.'),
  );
}

/** GET …/events/:collection: with `data` a beacon write, without it the collection's schema. */
export function BeaconQueryParameters(): MethodDecorator {
  return applyDecorators(
    textQuery(
      'data',
      { type: 'string', example: 'eyJpdGVtIjoid2lkZ2V0In0=' },
      'Beacon write: the event as base64 (standard or URL-safe) JSON. Needs the write key.',
    ),
    textQuery(
      'redirect',
      { type: 'string', format: 'uri', example: 'https://example.com/thanks' },
      'Beacon write: answer 302 to this absolute http(s) URL instead of the GIF. Only hosts listed in ' +
        'BEACON_REDIRECT_HOSTS are accepted (none by default); any other is a 400 and nothing is stored.',
    ),
    textQuery('modified', { type: 'integer' }, 'Ignored (keen-tracking adds it to defeat caches).'),
    textQuery('c', { type: 'string' }, 'Ignored (keen-tracking adds it).'),
  );
}
