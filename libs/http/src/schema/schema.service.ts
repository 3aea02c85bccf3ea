import { Inject, Injectable } from '@nestjs/common';
import { TallyError } from '@app/events';
import { CollectionSchema, toCollectionSchemas } from '@app/schema';
import { METADATA_STORE, MetadataStore } from '@app/storage';

export interface CollectionView extends CollectionSchema {
  url: string;
}

@Injectable()
export class SchemaService {
  constructor(@Inject(METADATA_STORE) private readonly metadata: MetadataStore) {}

  async listCollections(projectId: string): Promise<CollectionView[]> {
    const schemas = toCollectionSchemas(await this.metadata.getSchema(projectId));
    return schemas.map((s) => this.withUrl(projectId, s));
  }

  async getCollection(projectId: string, collection: string): Promise<CollectionView> {
    const [schema] = toCollectionSchemas(await this.metadata.getSchema(projectId, collection));
    if (!schema) {
      throw new TallyError('not_found', 'ResourceNotFoundError', `Collection "${collection.slice(0, 256)}" has no events.`);
    }
    return this.withUrl(projectId, schema);
  }

  async getProperty(projectId: string, collection: string, property: string) {
    const schema = await this.getCollection(projectId, collection);
    const type = schema.properties[property] ?? (schema.property_types[property] ? 'object' : undefined);
    if (!type) {
      throw new TallyError('not_found', 'ResourceNotFoundError', `Property "${property.slice(0, 256)}" is not in collection "${collection}".`);
    }
    return {
      property_name: property,
      type,
      types: schema.property_types[property],
      url: `${schema.url}/properties/${encodeURIComponent(property)}`,
    };
  }

  private withUrl(projectId: string, schema: CollectionSchema): CollectionView {
    return { ...schema, url: `/3.0/projects/${projectId}/events/${encodeURIComponent(schema.name)}` };
  }
}
