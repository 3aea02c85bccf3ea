import { SingleBar } from 'cli-progress';

/**
 * Progress of a long operation on stderr (stdout stays clean for --json).
 * The total is unknown while streaming, so it shows counts and a rate.
 */
export function progressReporter(verb: string, quiet: boolean) {
  if (quiet || !process.stderr.isTTY) {
    let last = 0;
    return {
      update: (p: { scanned: number; deleted: number }) => {
        if (quiet || Date.now() - last < 1000) return;
        last = Date.now();
        process.stderr.write(`${verb}: ${p.deleted} matched, ${p.scanned} read\n`);
      },
      stop: () => undefined,
    };
  }
  const bar = new SingleBar({
    format: `${verb} {value} matched | {scanned} read | {duration_formatted}`,
    stream: process.stderr,
  });
  bar.start(0, 0, { scanned: 0 });
  return {
    update: (p: { scanned: number; deleted: number }) =>
      bar.update(p.deleted, { scanned: p.scanned }),
    stop: () => bar.stop(),
  };
}

/**
 * A bar for export and import, drawn on stderr only when it is a terminal
 * (a redirected stderr, a pipe or a log file gets nothing). `total` (e.g. the
 * bytes of the input file) shows a percentage; without it, counts and a rate.
 */
export function transferBar(verb: string, unit: string, total?: number) {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    format:
      total === undefined
        ? `${verb} {count} ${unit} | {extra} | {duration_formatted}`
        : `${verb} [{bar}] {percentage}% | {count} ${unit} | {extra} | {duration_formatted}`,
    stream: process.stderr,
    fps: 5,
  });
  bar.start(total ?? 0, 0, { count: 0, extra: '' });
  return {
    update: (value: number, count: number, extra = '') => bar.update(value, { count, extra }),
    stop: () => bar.stop(),
  };
}
