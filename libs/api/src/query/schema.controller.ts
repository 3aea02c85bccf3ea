import { Controller, Get, Param } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { CollectionView, SchemaService } from '@app/core';
import { CollectionParam, KeenOperation, ProjectParam, PropertyParam, ref } from '@app/http';

@ApiTags('schema')
@ProjectParam()
@Controller('3.0/projects/:projectId/events')
export class SchemaController {
  constructor(private readonly schema: SchemaService) {}

  @Get()
  @RequireKey('schema')
  @KeenOperation({
    summary: 'Every collection with its inferred schema',
    key: 'read',
    description: 'Access keys need the `schema` right.',
  })
  @ApiResponse({
    status: 200,
    description: 'One entry per collection.',
    schema: { type: 'array', items: ref('CollectionSchema') },
  })
  list(@Param('projectId') projectId: string): Promise<CollectionView[]> {
    return this.schema.listCollections(projectId);
  }

  @Get(':collection/properties/:property')
  @RequireKey('schema')
  @KeenOperation({
    summary: 'One property of a collection',
    key: 'read',
    description: 'Access keys need the `schema` right.',
  })
  @CollectionParam()
  @PropertyParam()
  @ApiResponse({
    status: 200,
    description: 'The property and its types.',
    schema: ref('PropertySchema'),
  })
  property(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Param('property') property: string,
  ) {
    return this.schema.getProperty(projectId, collection, property);
  }
}
