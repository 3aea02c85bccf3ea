import { SingleBar } from 'cli-progress';
import type { CopyProgress } from '@app/storage/duckdb';

/** Where a bar is drawn: stderr, when it is a terminal. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * How the columnar copy's long catch-ups are shown: the fill after an
 * upgrade (a data dir written before the copy existed), a restore, or a copy
 * rebuilt after damage; a killed fill resumes where its last window ended.
 * Until it has caught up, queries take the TypeScript engine, so the operator
 * is told when it starts, how far it is, and when it is done. On a terminal,
 * a bar on stderr; otherwise (a service manager, a container log) a line when
 * it starts, at every further tenth of the rows, and when it is done.
 */
export function copyProgressReporter(
  log: (message: string) => void,
  stream: ProgressStream = process.stderr,
  now: () => number = Date.now,
): (progress: CopyProgress) => void {
  let run: { from: number; startedAt: number; tenth: number; bar?: SingleBar } | undefined;
  return (p) => {
    if (!run || (p.at === p.from && !p.done)) {
      run?.bar?.stop();
      run = { from: p.from, startedAt: now(), tenth: 0 };
      log(
        `columnar copy: catching up to row ${p.head.toLocaleString('en-US')} of the stored events` +
          (p.from > 0 ? ` (resuming after row ${p.from.toLocaleString('en-US')})` : '') +
          '; until it has, queries take the TypeScript engine',
      );
      if (stream.isTTY) {
        run.bar = new SingleBar({
          format:
            'columnar copy [{bar}] {percentage}% | {value}/{total} rows | {eta_formatted} left',
          barCompleteChar: '=',
          barIncompleteChar: '-',
          stream: stream as NodeJS.WriteStream,
          fps: 5,
        });
        run.bar.start(p.head - p.from, 0);
      }
    }
    const total = Math.max(1, p.head - run.from);
    const done = Math.max(0, p.at - run.from);
    if (p.done) {
      run.bar?.update(total);
      run.bar?.stop();
      log(
        `columnar copy: caught up to row ${p.at.toLocaleString('en-US')} in ${((now() - run.startedAt) / 1000).toFixed(1)} s`,
      );
      run = undefined;
      return;
    }
    run.bar?.update(done);
    const tenth = Math.floor((done * 10) / total);
    if (!run.bar && tenth > run.tenth) {
      run.tenth = tenth;
      log(
        `columnar copy: ${tenth * 10}% (row ${p.at.toLocaleString('en-US')} of ${p.head.toLocaleString('en-US')})`,
      );
    }
  };
}
