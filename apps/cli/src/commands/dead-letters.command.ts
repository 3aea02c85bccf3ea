import { Command } from 'commander';
import { persisterFor, requeueDeadLetters } from '@app/core';
import { DeadLetter, DeadLetterStore, MetadataStores, Stores } from '@app/storage';
import { cliConfig, print, withMetadataStores, withStores } from '../cli-stores';

const PAGE = 500;

/**
 * Dead letters live in MongoDB in the split deployment; the standalone server
 * keeps its (rare) dead letters in its own memory, out of the CLI's reach.
 */
function assertSplitDeployment(): void {
  if (cliConfig().storage.kind === 'sqlite') {
    throw new Error(
      'dead letters are not available on a standalone (SQLite) installation: its server keeps them in memory; ' +
        'they are kept in MongoDB by the split deployment (STORE=mongo or cassandra)',
    );
  }
}

/** Listing, showing and purging need only the metadata side (never Cassandra). */
function withDeadLetters<T>(work: (stores: MetadataStores) => Promise<T>): Promise<T> {
  assertSplitDeployment();
  return withMetadataStores(work);
}

/** Requeueing writes events: every store. */
function withDeadLettersAndEvents<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
  assertSplitDeployment();
  return withStores(work);
}

/** Every entry of the selection, page by page (ids sort by project, then keen.id). */
async function* entries(store: DeadLetterStore, projectId?: string): AsyncGenerator<DeadLetter[]> {
  let after: string | undefined;
  for (;;) {
    const page = await store.list({ projectId, limit: PAGE, after });
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1].id;
  }
}

/** The ids named (restricted to --project when both are given), or every entry of the selection. */
async function* selected(
  store: DeadLetterStore,
  projectId: string | undefined,
  ids: string[],
): AsyncGenerator<DeadLetter[]> {
  if (ids.length === 0) {
    yield* entries(store, projectId);
    return;
  }
  for (let i = 0; i < ids.length; i += PAGE) {
    const found = await store.get(ids.slice(i, i + PAGE));
    yield found.filter((e) => projectId === undefined || e.projectId === projectId);
  }
}

/** A body over MongoDB's document limit was kept as a prefix only: it cannot be stored again. */
const truncated = (e: DeadLetter) =>
  Object.keys(e.event.event).length === 1 && 'truncated_json' in e.event.event;

const summary = (e: DeadLetter) => ({
  id: e.id,
  project: e.projectId,
  collection: e.event.collection,
  keen_id: e.event.id,
  failed_at: e.failedAt,
  reason: e.reason,
});

/** `tally dead-letters list|show|requeue|purge` (split deployment). */
export function registerDeadLetterCommands(program: Command): void {
  const dl = program
    .command('dead-letters')
    .description('Events the store refused, set aside by the worker (split deployment)');

  dl.command('list')
    .description('List dead letters (id, project, collection, keen.id, failed at, reason)')
    .option('--project <project>', 'only this project')
    .option('--limit <n>', 'at most this many', '100')
    .option('--after <id>', 'the page after this id')
    .option('--json', 'print a JSON array')
    .action(async (opts: { project?: string; limit: string; after?: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new Error('--limit is a whole number from 1 to 10000');
      const list = await withDeadLetters((s) =>
        s.deadLetters.list({ projectId: opts.project, limit, after: opts.after }),
      );
      print(list.map(summary), Boolean(opts.json), () =>
        list.length === 0
          ? 'no dead letters'
          : list
              .map(
                (e) => `${e.id}\t${e.event.collection}\t${e.failedAt}\t${e.reason.slice(0, 120)}`,
              )
              .join('\n'),
      );
    });

  dl.command('show <id>')
    .description('Show one dead letter with its event (<id> is <project>/<keen.id>, as listed)')
    .option('--json', 'print it as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const [entry] = await withDeadLetters((s) => s.deadLetters.get([id]));
      if (!entry) throw new Error(`no dead letter with id ${id}`);
      print(entry, Boolean(opts.json), () => JSON.stringify(entry, null, 2));
    });

  dl.command('requeue [ids...]')
    .description(
      'Store dead letters again through the write path (all, those of --project, or the ids given); stored ones are removed',
    )
    .option('--project <project>', 'only this project')
    .option('--json', 'print {"inserted","duplicates","stillRejected","skipped"}')
    .action(async (ids: string[], opts: { project?: string; json?: boolean }) => {
      const outcome = await withDeadLettersAndEvents(async (s) => {
        const persister = persisterFor(s);
        const total = { inserted: 0, duplicates: 0, stillRejected: 0, skipped: 0 };
        // Entries still refused stay; paging continues after them, so each is tried once.
        for await (const page of selected(s.deadLetters, opts.project, ids)) {
          const usable = page.filter((e) => !truncated(e));
          total.skipped += page.length - usable.length;
          const done = await requeueDeadLetters(
            s.deadLetters,
            persister,
            usable.map((e) => e.id),
          );
          total.inserted += done.inserted;
          total.duplicates += done.duplicates;
          total.stillRejected += done.stillRejected;
        }
        return total;
      });
      print(outcome, Boolean(opts.json), () =>
        [
          `requeued: ${outcome.inserted} stored, ${outcome.duplicates} already stored, ${outcome.stillRejected} still refused (kept)`,
          ...(outcome.skipped > 0
            ? [`${outcome.skipped} kept: their bodies were truncated when dead-lettered`]
            : []),
        ].join('\n'),
      );
    });

  dl.command('purge [ids...]')
    .description('Delete dead letters for good (all, those of --project, or the ids given)')
    .option('--project <project>', 'only this project')
    .option('--yes', 'confirm: the events are lost')
    .option('--json', 'print {"removed"}')
    .action(async (ids: string[], opts: { project?: string; yes?: boolean; json?: boolean }) => {
      if (!opts.yes)
        throw new Error('purge deletes dead letters and their events for good: add --yes');
      const removed = await withDeadLetters(async (s) => {
        let n = 0;
        // Removing behind the cursor is safe: the next page starts after the last id read.
        for await (const page of selected(s.deadLetters, opts.project, ids))
          n += await s.deadLetters.remove(page.map((e) => e.id));
        return n;
      });
      print({ removed }, Boolean(opts.json), () => `${removed} dead letters removed`);
    });
}
