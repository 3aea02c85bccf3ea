import { Command } from 'commander';
import { assertSavedQueryName, notFound, SavedQueryView, toSavedQueryView } from '@app/core';
import { MetadataStores } from '@app/storage';
import { print, withMetadataStores } from '../cli-stores';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function requireProjectOf(stores: MetadataStores, project: string): Promise<void> {
  if (!(await stores.metadata.getProject(project))) {
    throw new Error(`project "${project}" does not exist`);
  }
}

function describe(view: SavedQueryView): string {
  const run = view.run_information;
  const state =
    view.refresh_rate === 0
      ? 'saved query (computed on each request)'
      : `cached every ${view.refresh_rate} s; computed ${run?.computed_at ?? 'not yet'}, next ${run?.next_refresh_at ?? '-'}`;
  return `${view.query_name}: ${String(view.query.analysis_type)} — ${state}`;
}

/**
 * `tally saved-queries list|refresh`. The CLI never computes a query itself:
 * `refresh` makes a cached query due now, and the query processes (the
 * standalone server) compute it at their next check
 * (SAVED_QUERY_REFRESH_CHECK_MS); `--wait` waits for that answer.
 */
export function registerSavedQueryCommands(program: Command): void {
  const saved = program
    .command('saved-queries')
    .description("A project's saved and cached queries (Keen's /queries/saved)");

  saved
    .command('list <project>')
    .description("The project's saved queries with their refresh state")
    .option('--json', 'print the definitions as the API lists them')
    .action(async (project: string, opts: { json?: boolean }) => {
      const views = await withMetadataStores(async (s) => {
        await requireProjectOf(s, project);
        return (await s.savedQueries.list(project)).map(toSavedQueryView);
      });
      print(views, Boolean(opts.json), () =>
        views.length === 0 ? `${project}: no saved queries` : views.map(describe).join('\n'),
      );
    });

  saved
    .command('refresh <project> <name>')
    .description('Recompute a cached query now (at the next refresh check of a query process)')
    .option('--wait <seconds>', 'wait up to this long for the new answer', '0')
    .option('--json', 'print the definition (with run_information) afterwards')
    .action(async (project: string, name: string, opts: { wait: string; json?: boolean }) => {
      assertSavedQueryName(name);
      const waitMs = /^\d{1,5}$/.test(opts.wait) ? Number(opts.wait) * 1000 : NaN;
      if (Number.isNaN(waitMs)) throw new Error('--wait takes a whole number of seconds');
      const view = await withMetadataStores(async (s) => {
        await requireProjectOf(s, project);
        const record = await s.savedQueries.get(project, name);
        if (!record) throw notFound(name);
        if (record.refreshRate === 0) {
          throw new Error(`"${name}" is a saved query (refresh_rate 0), computed on every request`);
        }
        const requestedAt = Date.now();
        await s.savedQueries.requestRefresh(project, name, requestedAt);
        for (const deadline = requestedAt + waitMs; ;) {
          const now = await s.savedQueries.get(project, name);
          if (!now) throw notFound(name);
          const fresh = (now.cached?.computedAt ?? 0) >= requestedAt;
          if (fresh || Date.now() >= deadline) {
            if (waitMs > 0 && !fresh) {
              throw new Error(
                `no new answer within ${opts.wait} s: is a query process (or the standalone server) running?`,
              );
            }
            return toSavedQueryView(now);
          }
          await sleep(200);
        }
      });
      print(view, Boolean(opts.json), () =>
        waitMs > 0 ? `refreshed: ${describe(view)}` : `${name}: due now; ${describe(view)}`,
      );
    });
}
