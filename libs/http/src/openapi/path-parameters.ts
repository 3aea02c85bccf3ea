import { ApiParam } from '@nestjs/swagger';
import { ANALYSIS_TYPES } from '@app/query-engine';

/**
 * The path parameters every /3.0 route shares. Names are validated by the
 * server (a bad one is a 400 naming it), so the schemas only give the shape.
 */
export const ProjectParam = () =>
  ApiParam({
    name: 'projectId',
    description: 'Project id: 1-64 letters, digits, "_" or "-". A standalone server creates "default" on first start.',
    schema: { type: 'string', example: 'default' },
  });

export const CollectionParam = () =>
  ApiParam({
    name: 'collection',
    description: 'Event collection: at most 256 characters, no ".", not starting with "$" or "_", no control characters.',
    schema: { type: 'string', example: 'purchases' },
  });

export const PropertyParam = () =>
  ApiParam({
    name: 'property',
    description: 'Property path, dotted for nested objects (user.id).',
    schema: { type: 'string', example: 'price' },
  });

export const AnalysisParam = () =>
  ApiParam({
    name: 'analysis',
    description: 'The analysis to run; an unknown one is a 404.',
    // The analyses Tally runs; any other name is a 404, as in Keen.
    schema: { type: 'string', enum: [...ANALYSIS_TYPES] },
  });

export const JobParam = () =>
  ApiParam({ name: 'jobId', description: 'The job id a 202 delete answered.', schema: { type: 'string' } });
