import { Command } from 'commander';
import { assertRetentionDays, RetentionSweep, SILENT_LOG, toDeleteJobView } from '@app/core';
import { print, requireProject, withStores } from '../cli-stores';

/**
 * `tally retention set|show|clear`: a project's TTL in days. The query
 * processes (standalone: the server) delete what is past it with background
 * delete jobs; `show` lists the latest ones with their progress.
 */
export function registerRetentionCommands(program: Command): void {
  const retention = program
    .command('retention')
    .description(
      "A project's retention: events older than N days are deleted by background delete jobs",
    );

  retention
    .command('set <project> <days>')
    .description(
      'Keep the events of the last <days> days (by keen.timestamp); older ones are deleted',
    )
    .option('--json', 'print {"project","days"}')
    .action(async (project: string, daysText: string, opts: { json?: boolean }) => {
      const days = assertRetentionDays(/^\d{1,6}$/.test(daysText) ? Number(daysText) : NaN);
      await withStores(async (s) => {
        await requireProject(s, project);
        await s.metadata.setRetention(project, days);
      });
      print(
        { project, days },
        Boolean(opts.json),
        () => `${project}: events older than ${days} days are deleted`,
      );
    });

  retention
    .command('show <project>')
    .description("The project's retention and the delete jobs of its latest sweep")
    .option('--json', 'print {"project","days","jobs"}')
    .action(async (project: string, opts: { json?: boolean }) => {
      const out = await withStores(async (s) => {
        await requireProject(s, project);
        const days = await s.metadata.getRetention(project);
        const sweep = new RetentionSweep(s, SILENT_LOG);
        const jobs = days === null ? [] : await sweep.latestJobs(project, days);
        return { project, days, jobs: jobs.map(toDeleteJobView) };
      });
      print(out, Boolean(opts.json), () =>
        [
          out.days === null
            ? `${project}: no retention (events are kept for ever)`
            : `${project}: ${out.days} days`,
          ...out.jobs.map(
            (j) =>
              `  job ${j.id} ${j.collection}: ${j.state}, ${j.events_deleted} deleted of ${j.events_scanned} read`,
          ),
        ].join('\n'),
      );
    });

  retention
    .command('clear <project>')
    .description('Keep events for ever (jobs already queued still finish)')
    .option('--json', 'print {"project","days":null}')
    .action(async (project: string, opts: { json?: boolean }) => {
      await withStores(async (s) => {
        await requireProject(s, project);
        await s.metadata.setRetention(project, null);
      });
      print({ project, days: null }, Boolean(opts.json), () => `${project}: no retention`);
    });
}
