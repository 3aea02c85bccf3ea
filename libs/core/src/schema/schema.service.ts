import { TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import { CollectionSchema, toCollectionSchemas } from '@app/schema';
import { MetadataStore } from '@app/storage';

export interface CollectionView extends CollectionSchema {
  url: string;
  /**
   * Tally's addition, present only on a collection over its property cap:
   * some of its events have properties the schema does not list (they are
   * stored and queryable all the same). Keen's clients ignore unknown fields.
   */
  schema_capped?: true;
  max_properties?: number;
}

export class SchemaService {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly config: TallyConfig,
  ) {}

  async listCollections(projectId: string): Promise<CollectionView[]> {
    const [counters, capped] = await Promise.all([
      this.metadata.getSchema(projectId),
      this.metadata.listCappedCollections(projectId),
    ]);
    const cappedNames = new Set(capped.map((c) => c.collection));
    return toCollectionSchemas(counters).map((s) =>
      this.view(projectId, s, cappedNames.has(s.name)),
    );
  }

  async getCollection(projectId: string, collection: string): Promise<CollectionView> {
    const [counters, capped] = await Promise.all([
      this.metadata.getSchema(projectId, collection),
      this.metadata.listCappedCollections(projectId),
    ]);
    const [schema] = toCollectionSchemas(counters);
    if (!schema) {
      throw new TallyError(
        'not_found',
        'ResourceNotFoundError',
        `Collection "${collection.slice(0, 256)}" has no events.`,
      );
    }
    return this.view(
      projectId,
      schema,
      capped.some((c) => c.collection === collection),
    );
  }

  async getProperty(projectId: string, collection: string, property: string) {
    const schema = await this.getCollection(projectId, collection);
    // Own-property reads: the maps have no prototype, and a name such as
    // `constructor` must not answer for a property that does not exist.
    const known = Object.hasOwn(schema.property_types, property);
    const type = Object.hasOwn(schema.properties, property)
      ? schema.properties[property]
      : known
        ? 'object'
        : undefined;
    if (!type) {
      throw new TallyError(
        'not_found',
        'ResourceNotFoundError',
        `Property "${property.slice(0, 256)}" is not in collection "${collection}".`,
      );
    }
    return {
      property_name: property,
      type,
      types: known ? schema.property_types[property] : undefined,
      url: `${schema.url}/properties/${encodeURIComponent(property)}`,
    };
  }

  private view(projectId: string, schema: CollectionSchema, capped: boolean): CollectionView {
    const view: CollectionView = {
      ...schema,
      url: `/3.0/projects/${projectId}/events/${encodeURIComponent(schema.name)}`,
    };
    if (capped) {
      view.schema_capped = true;
      view.max_properties = this.config.schema.maxProperties;
    }
    return view;
  }
}
