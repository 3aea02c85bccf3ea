import type { OpenAPIObject } from '@nestjs/swagger';

const JSON_TEXT = {
  type: 'string',
  description: 'The same JSON document as text (what sendBeacon sends); anything else is a 400.',
} as const;

/**
 * @nestjs/swagger gives every media type of a body the same schema, but a
 * `text/plain` body is a string on the wire: the JSON text the server parses.
 * Describing it as the object schema would tell clients (and fuzzers) to send
 * something no text body can be.
 */
export function describeTextBodiesAsJsonText(document: OpenAPIObject): void {
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      const content = (operation as { requestBody?: { content?: Record<string, { schema?: unknown }> } })
        ?.requestBody?.content;
      if (content?.['text/plain']) content['text/plain'] = { schema: { ...JSON_TEXT } };
    }
  }
}
