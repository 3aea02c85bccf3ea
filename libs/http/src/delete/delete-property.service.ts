import { Inject, Injectable } from '@nestjs/common';
import { assertCollectionName } from '@app/events';
import { PropertyDeleteProgress, PropertyDeleter, Stores, STORES } from '@app/storage';

@Injectable()
export class DeletePropertyService {
  private readonly deleter: PropertyDeleter;

  constructor(@Inject(STORES) stores: Stores) {
    this.deleter = new PropertyDeleter(stores.events, stores.metadata, stores.unitOfWork);
  }

  /** The property path is checked by the use case (names, and never `keen`). */
  deleteProperty(
    projectId: string,
    collection: string,
    property: string,
  ): Promise<PropertyDeleteProgress> {
    assertCollectionName(collection);
    return this.deleter.delete(projectId, collection, property);
  }
}
