import { Inject, Injectable } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { assertCollectionName } from '@app/events';
import { parseEventSelection } from '@app/query';
import { DeleteProgress, EventDeleter, recountSchema, Stores, STORES } from '@app/storage';

@Injectable()
export class DeleteService {
  private readonly deleter: EventDeleter;

  constructor(
    @Inject(STORES) private readonly stores: Stores,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
  ) {
    this.deleter = new EventDeleter(stores.events, stores.metadata, stores.unitOfWork);
  }

  /** No filters and no timeframe: the whole collection. */
  deleteEvents(projectId: string, collection: string, params: Record<string, unknown>): Promise<DeleteProgress> {
    assertCollectionName(collection);
    const { api_key: _key, ...rest } = params;
    return this.deleter.delete(projectId, collection, parseEventSelection(rest));
  }

  recount(projectId: string, collection: string) {
    assertCollectionName(collection);
    return recountSchema(this.stores, projectId, collection, this.config.schema.recountMaxEvents);
  }
}
