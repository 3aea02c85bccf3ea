import { assertCollectionName } from '@app/events';
import { EventSelection } from '@app/query-engine';
import { DeleteJob, Stores } from '@app/storage';
import { parsePropertyPath, PropertyDeleteProgress, PropertyDeleter } from './delete-property';
import { DeleteJobsService } from './delete-jobs.service';

/** A property delete either ran in the request, or was accepted as a background job. */
export type PropertyDeleteOutcome =
  { kind: 'done'; progress: PropertyDeleteProgress } | { kind: 'job'; job: DeleteJob };

/** A property delete reads every event of the collection: no filter, all time. */
const ALL_EVENTS: EventSelection = { filters: [], timezone: 'UTC' };

export class DeletePropertyService {
  private readonly deleter: PropertyDeleter;

  constructor(
    stores: Stores,
    private readonly jobs: DeleteJobsService,
  ) {
    this.deleter = new PropertyDeleter(
      stores.events,
      stores.metadata,
      stores.unitOfWork,
      stores.writes,
      stores.datasets,
    );
  }

  /**
   * Rewrites events like a delete removes them, so it shares the event
   * deletes' per-project limits (one slot and one token per request) and their
   * threshold: a collection with more than DELETE_JOB_THRESHOLD events to read
   * becomes a background job, which keeps the request's slot until it ends.
   * Bad names are refused before the limits are consulted (no token spent).
   */
  async deleteProperty(
    projectId: string,
    collection: string,
    property: string,
  ): Promise<PropertyDeleteOutcome> {
    assertCollectionName(collection);
    parsePropertyPath(property);
    return this.jobs.inRequestOrAsJob(
      { projectId, collection, selection: ALL_EVENTS, property },
      () => this.deleter.delete(projectId, collection, property),
    );
  }
}
