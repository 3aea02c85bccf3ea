import { keyCacheAgeSeconds } from './key-cache.metrics';

const at = (ms: number) => ({ refreshedAt: () => ms });

describe('keyCacheAgeSeconds', () => {
  it('is the age of the oldest loaded cache, in seconds', () => {
    expect(keyCacheAgeSeconds([at(10_000), at(7_000)], 12_500)).toBe(5.5);
  });

  it('is NaN when no cache runs or one never loaded', () => {
    expect(keyCacheAgeSeconds([], 12_500)).toBeNaN();
    expect(keyCacheAgeSeconds([at(10_000), at(0)], 12_500)).toBeNaN();
  });
});
