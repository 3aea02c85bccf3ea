import { Pacer } from './accumulator';

/** Runs sorted natively before merging: small enough to stay well inside a slice. */
const RUN = 1024;
/** Merge steps between two looks at the clock. */
const STEPS_PER_CHECK = 4096;

/**
 * A stable sort of up to maxValuesInMemory items that gives the event loop a
 * turn whenever the pacer's slice is used up: runs of RUN items are sorted
 * with Array.prototype.sort, then merged bottom-up. Sorting 5,000,000 unique
 * values in one Array.prototype.sort call held the loop for seconds. Returns a
 * sorted array (`items` itself when it is short; a new one otherwise).
 */
export async function slicedSort<T>(
  items: T[],
  compare: (a: T, b: T) => number,
  pacer: Pacer,
): Promise<T[]> {
  const n = items.length;
  if (n <= RUN) return items.sort(compare);
  let src = items;
  for (let lo = 0; lo < n; lo += RUN) {
    const run = src.slice(lo, lo + RUN).sort(compare);
    for (let i = 0; i < run.length; i++) src[lo + i] = run[i];
    if (pacer.due()) await pacer.pause();
  }
  let dst = new Array<T>(n);
  let steps = 0;
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width);
      const hi = Math.min(n, lo + 2 * width);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        // Left first on ties: stable, like Array.prototype.sort.
        dst[k++] = compare(src[j], src[i]) < 0 ? src[j++] : src[i++];
        if (++steps === STEPS_PER_CHECK) {
          steps = 0;
          if (pacer.due()) await pacer.pause();
        }
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** The values of an iterable (a Map's, a Set's) as an array, pausing like slicedSort. */
export async function slicedArray<T>(values: Iterable<T>, pacer: Pacer): Promise<T[]> {
  const out: T[] = [];
  let steps = 0;
  for (const v of values) {
    out.push(v);
    if (++steps === STEPS_PER_CHECK) {
      steps = 0;
      if (pacer.due()) await pacer.pause();
    }
  }
  return out;
}
