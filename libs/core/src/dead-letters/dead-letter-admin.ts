import { TallyError } from '@app/events';
import { DeadLetter, DeadLetterStore, deadLetterId, EventPersister } from '@app/storage';
import { requeueDeadLetters } from '../persist/requeue-dead-letters';

/** Entries read (and requeued or purged) per store round trip. */
const PAGE = 500;

/**
 * Entries one requeue or purge of "all" works through before it answers: an
 * HTTP request stays short however many there are, and the answer says
 * `more: true` so the operator asks again.
 */
export const MAX_ENTRIES_PER_CALL = 5_000;

/** What an operator picks: the entries named by keen.id, or every entry of the project. */
export type DeadLetterSelection = { ids: string[] } | { all: true };

export interface RequeueOutcome {
  /** Stored by this requeue (their entries are gone). */
  inserted: number;
  /** Already stored (a delivery that was both stored and set aside): entries gone, nothing counted twice. */
  duplicates: number;
  /** Refused again by the store: kept, with the new reason. */
  stillRejected: number;
  /** Kept untouched: their bodies were cut when set aside (over the store's document limit). */
  skipped: number;
  /** Entries named that do not exist (already requeued or purged). */
  notFound: number;
  /** "all" stopped at MAX_ENTRIES_PER_CALL: call again for the rest. */
  more: boolean;
}

export interface PurgeOutcome {
  removed: number;
  notFound: number;
  more: boolean;
}

/** A body over MongoDB's document limit was kept as a prefix only: it cannot be stored again. */
export function isTruncatedDeadLetter(e: DeadLetter): boolean {
  const body = e.event.event;
  return Object.keys(body).length === 1 && Object.hasOwn(body, 'truncated_json');
}

/**
 * The operator's use cases over one project's dead letters (the master-key
 * API; the CLI pages over every project itself). Ids are the events'
 * keen.ids: the project comes from the route, so one project's key can never
 * name another's entry.
 */
export class DeadLetterAdmin {
  constructor(
    private readonly store: DeadLetterStore,
    private readonly persister: Pick<EventPersister, 'persist'>,
  ) {}

  /** One page, in keen.id order, after the keen.id `after`. */
  async list(projectId: string, limit: number, after?: string): Promise<DeadLetter[]> {
    return this.store.list({
      projectId,
      limit,
      after: after === undefined ? undefined : deadLetterId(projectId, after),
    });
  }

  async get(projectId: string, keenId: string): Promise<DeadLetter> {
    const [entry] = await this.store.get([deadLetterId(projectId, keenId)]);
    if (!entry || entry.projectId !== projectId) {
      throw new TallyError(
        'not_found',
        'ResourceNotFoundError',
        `Project "${projectId}" has no dead letter "${keenId}".`,
      );
    }
    return entry;
  }

  /**
   * Persists the selected entries again through the deployment's persister
   * (marker protocol or one transaction: counters count what is new, a
   * duplicate counts nothing), then removes those stored.
   */
  async requeue(projectId: string, selection: DeadLetterSelection): Promise<RequeueOutcome> {
    const total: RequeueOutcome = {
      inserted: 0,
      duplicates: 0,
      stillRejected: 0,
      skipped: 0,
      notFound: 0,
      more: false,
    };
    for await (const page of this.pages(projectId, selection, total)) {
      const usable = page.filter((e) => !isTruncatedDeadLetter(e));
      total.skipped += page.length - usable.length;
      const done = await requeueDeadLetters(
        this.store,
        this.persister,
        usable.map((e) => e.id),
      );
      total.inserted += done.inserted;
      total.duplicates += done.duplicates;
      total.stillRejected += done.stillRejected;
    }
    return total;
  }

  /** Deletes the selected entries for good. */
  async purge(projectId: string, selection: DeadLetterSelection): Promise<PurgeOutcome> {
    const total = { removed: 0, notFound: 0, more: false };
    for await (const page of this.pages(projectId, selection, total))
      total.removed += await this.store.remove(page.map((e) => e.id));
    return total;
  }

  /**
   * The selection page by page. "all" pages by id, so entries a requeue keeps
   * (still refused, truncated) are passed once and never loop; removing behind
   * the cursor is safe for the same reason.
   */
  private async *pages(
    projectId: string,
    selection: DeadLetterSelection,
    total: { notFound: number; more: boolean },
  ): AsyncGenerator<DeadLetter[]> {
    if ('ids' in selection) {
      const unique = [...new Set(selection.ids)];
      for (let i = 0; i < unique.length; i += PAGE) {
        const wanted = unique.slice(i, i + PAGE).map((id) => deadLetterId(projectId, id));
        const found = (await this.store.get(wanted)).filter((e) => e.projectId === projectId);
        total.notFound += wanted.length - found.length;
        if (found.length > 0) yield found;
      }
      return;
    }
    let after: string | undefined;
    let seen = 0;
    for (;;) {
      const limit = Math.min(PAGE, MAX_ENTRIES_PER_CALL - seen);
      if (limit === 0) {
        total.more = (await this.store.list({ projectId, limit: 1, after })).length > 0;
        return;
      }
      const page = await this.store.list({ projectId, limit, after });
      if (page.length === 0) return;
      seen += page.length;
      after = page[page.length - 1].id;
      yield page;
    }
  }
}
