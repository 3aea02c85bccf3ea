import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The API description at /openapi.json and a browsable page at /docs. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Tally')
    .setDescription(
      'Schema-less event analytics, wire-compatible with the Keen IO 3.0 API. ' +
        'Keys go in the raw Authorization header or the api_key query parameter.',
    )
    .setVersion('3.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'Authorization' }, 'key')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
