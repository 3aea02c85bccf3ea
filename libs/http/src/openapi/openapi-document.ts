import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { KEY_HEADER_SCHEME, KEY_QUERY_SCHEME } from './keen-operation';
import { SCHEMAS } from './schemas';
import { describeTextBodiesAsJsonText } from './text-bodies';

/**
 * The API description at /openapi.json (and /openapi.yaml, and a browsable
 * page at /docs). Operations are described by decorators on the controllers
 * (helpers in this folder); the shared body schemas are registered here once.
 * test/standalone/api-fuzz.e2e-spec.ts fuzzes the server against this document.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Tally')
    .setDescription(
      'Schema-less event analytics, wire-compatible with the Keen IO 3.0 API. ' +
        'Each project has a write key (writes), a read key (queries, schema) and a master key (everything, ' +
        'including deletes). Keys go in the raw Authorization header (no scheme) or the api_key query parameter. ' +
        'Errors are JSON {message, error_code, request_id}. Every response carries x-tally-pool. ' +
        'A method a path does not serve answers 405 with an Allow header; an unknown path 404.',
    )
    .setVersion('3.0')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'Authorization', description: 'The raw key, no scheme.' },
      KEY_HEADER_SCHEME,
    )
    .addApiKey(
      { type: 'apiKey', in: 'query', name: 'api_key', description: 'The key as a query parameter (beacons, browsers).' },
      KEY_QUERY_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...SCHEMAS } };
  describeTextBodiesAsJsonText(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
