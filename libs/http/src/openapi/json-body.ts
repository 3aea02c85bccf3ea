import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiConsumes } from '@nestjs/swagger';
import { ref, SchemaName } from './schemas';

/**
 * A JSON request body. The server also reads a `text/plain` body as JSON
 * (browsers' sendBeacon cannot send application/json); that form is
 * documented as a string, see text-bodies.ts.
 */
export function JsonBody(schema: SchemaName, description: string, required = true): MethodDecorator {
  return applyDecorators(
    ApiConsumes('application/json', 'text/plain'),
    ApiBody({ schema: ref(schema), description, required }),
  );
}
