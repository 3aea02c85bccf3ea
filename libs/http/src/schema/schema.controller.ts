import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { CollectionView, SchemaService } from './schema.service';

@ApiTags('schema')
@Controller('3.0/projects/:projectId/events')
export class SchemaController {
  constructor(private readonly schema: SchemaService) {}

  @Get()
  @RequireKey('read')
  @ApiOperation({ summary: 'Every collection with its inferred schema' })
  list(@Param('projectId') projectId: string): Promise<CollectionView[]> {
    return this.schema.listCollections(projectId);
  }

  @Get(':collection/properties/:property')
  @RequireKey('read')
  @ApiOperation({ summary: 'One property of a collection' })
  property(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Param('property') property: string,
  ) {
    return this.schema.getProperty(projectId, collection, property);
  }
}
