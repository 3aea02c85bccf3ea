import { Pacer } from './accumulator';

/** Partition steps between two looks at the clock. */
const STEPS_PER_CHECK = 4096;
/** Ranges this short are finished by insertion sort. */
const SMALL = 24;

/**
 * The percentile of `values[0, n)` by linear interpolation between closest
 * ranks (rank = p/100 · (n−1), as percentileOf), found by selection rather
 * than by sorting: quickselect with random pivots (no input can force its
 * quadratic case, since the pivots are not known in advance) for the lower
 * rank, then the minimum of what lies above it for the upper one. Expected
 * O(n) instead of O(n log n), and it pauses whenever the pacer's slice is
 * used up: sorting 5,000,000 samples in one go held the event loop for about
 * half a second. `values` is reordered.
 */
export async function selectPercentile(
  values: Float64Array,
  n: number,
  p: number,
  pacer: Pacer,
): Promise<number | null> {
  if (n === 0) return null;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  await selectKth(values, n, lo, pacer);
  const low = values[lo];
  if (lo === hi) return low;
  // Everything after index lo is >= values[lo]: the next rank is their minimum.
  let high = Infinity;
  for (let i = lo + 1; i < n; i++) {
    if (values[i] < high) high = values[i];
    if ((i & (STEPS_PER_CHECK * 16 - 1)) === 0 && pacer.due()) await pacer.pause();
  }
  return low + (high - low) * (rank - lo);
}

/**
 * Reorders a[0, n) so that a[k] holds the value a sort would put there, with
 * nothing greater before it and nothing smaller after it.
 */
export async function selectKth(
  a: Float64Array,
  n: number,
  k: number,
  pacer: Pacer,
): Promise<void> {
  let left = 0;
  let right = n - 1;
  let steps = 0;
  while (right - left >= SMALL) {
    const pivot = a[left + Math.floor(Math.random() * (right - left + 1))];
    let i = left;
    let j = right;
    // Hoare partition: afterwards a[left..j] <= pivot <= a[i..right], and
    // anything strictly between j and i equals the pivot.
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
      if (++steps === STEPS_PER_CHECK) {
        steps = 0;
        if (pacer.due()) await pacer.pause();
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
  for (let i = left + 1; i <= right; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= left && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}
