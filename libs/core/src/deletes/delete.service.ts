import { TallyConfig } from '@app/config';
import { assertCollectionName, TallyError } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { DeleteJob, Stores } from '@app/storage';
import { DeleteProgress, EventDeleter } from './delete-events';
import { recountSchema } from '../schema/recount-schema';
import { DeleteJobsService } from './delete-jobs.service';

/** What an event delete reads from its query string (Keen's clients send nothing else). */
const DELETE_PARAMETERS = new Set(['api_key', 'filters', 'timeframe', 'timezone']);

/**
 * A delete is narrowed only by its query string. Anything the request says
 * elsewhere (a JSON body with filters, a misspelt `filter=`) would be ignored
 * and the delete would remove more than was asked for, up to the whole
 * collection: such a request is refused before anything is read. An empty
 * body (`{}`, `null`, nothing) says nothing and is accepted.
 */
export function assertSelectionInQueryString(params: Record<string, unknown>, body: unknown): void {
  const emptyBody =
    body === undefined ||
    body === null ||
    (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
  if (!emptyBody) {
    throw new TallyError(
      'invalid',
      'InvalidParameterError',
      'A delete reads filters, timeframe and timezone from the query string only; this request has a body, ' +
        'which would not narrow the delete. Send them as query parameters (nothing was deleted).',
    );
  }
  const unknown = Object.keys(params).find((name) => !DELETE_PARAMETERS.has(name));
  if (unknown !== undefined) {
    throw new TallyError(
      'invalid',
      'InvalidParameterError',
      `A delete takes only filters, timeframe and timezone; "${unknown.slice(0, 100)}" is not one of them ` +
        'and would not narrow the delete (nothing was deleted).',
    );
  }
}

/** A delete either ran in the request, or was accepted as a background job. */
export type DeleteOutcome =
  { kind: 'done'; progress: DeleteProgress } | { kind: 'job'; job: DeleteJob };

export class DeleteService {
  private readonly deleter: EventDeleter;

  constructor(
    private readonly stores: Stores,
    private readonly config: TallyConfig,
    private readonly jobs: DeleteJobsService,
  ) {
    this.deleter = new EventDeleter(
      stores.events,
      stores.metadata,
      stores.unitOfWork,
      stores.writes,
      stores.datasets,
    );
  }

  /**
   * No filters and no timeframe: the whole collection. Bad input is refused
   * before the limits are consulted, so it costs no token. A delete that would
   * read more than DELETE_JOB_THRESHOLD events becomes a job, which keeps the
   * request's slot until it ends.
   */
  async deleteEvents(
    projectId: string,
    collection: string,
    params: Record<string, unknown>,
    body?: unknown,
  ): Promise<DeleteOutcome> {
    assertCollectionName(collection);
    assertSelectionInQueryString(params, body);
    const { api_key: _key, ...rest } = params;
    const selection = parseEventSelection(rest);
    return this.jobs.inRequestOrAsJob({ projectId, collection, selection }, (now) =>
      this.deleter.delete(projectId, collection, selection, { now }),
    );
  }

  recount(projectId: string, collection: string) {
    assertCollectionName(collection);
    return recountSchema(this.stores, projectId, collection, this.config.schema.recountMaxEvents);
  }
}
