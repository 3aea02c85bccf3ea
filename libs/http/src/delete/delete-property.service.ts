import { Inject, Injectable } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { assertCollectionName } from '@app/events';
import { EventSelection } from '@app/query';
import {
  DeleteJob,
  isLargeDelete,
  parsePropertyPath,
  PropertyDeleteProgress,
  PropertyDeleter,
  Stores,
  STORES,
} from '@app/storage';
import { DeleteJobsService } from './delete-jobs.service';
import { ProjectDeleteLimits } from './project-delete-limits';

/** A property delete either ran in the request, or was accepted as a background job. */
export type PropertyDeleteOutcome =
  { kind: 'done'; progress: PropertyDeleteProgress } | { kind: 'job'; job: DeleteJob };

/** A property delete reads every event of the collection: no filter, all time. */
const ALL_EVENTS: EventSelection = { filters: [], timezone: 'UTC' };

@Injectable()
export class DeletePropertyService {
  private readonly deleter: PropertyDeleter;

  constructor(
    @Inject(STORES) private readonly stores: Stores,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
    private readonly limits: ProjectDeleteLimits,
    private readonly jobs: DeleteJobsService,
  ) {
    this.deleter = new PropertyDeleter(stores.events, stores.metadata, stores.unitOfWork);
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
    const slot = this.limits.admit(projectId);
    let handedToJob = false;
    try {
      const now = new Date();
      const threshold = this.config.deletes.jobThreshold;
      if (
        await isLargeDelete(this.stores.events, projectId, collection, ALL_EVENTS, threshold, now)
      ) {
        const target = { projectId, collection, selection: ALL_EVENTS, property };
        const job = await this.jobs.start(target, now, slot);
        handedToJob = true;
        return { kind: 'job', job };
      }
      return { kind: 'done', progress: await this.deleter.delete(projectId, collection, property) };
    } finally {
      if (!handedToJob) slot.release();
    }
  }
}
