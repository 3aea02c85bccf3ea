import { StoreFullError } from './store-full';
import {
  MIN_FREE_BYTES,
  RECOVERY_MARGIN_BYTES,
  SpaceReading,
  StoreSpace,
  UNPROBED_HOLD_MS,
} from './store-space';

const MB = 1024 * 1024;

describe('StoreSpace', () => {
  let now = 0;
  let reading: SpaceReading;
  let space: StoreSpace;
  beforeEach(() => {
    now = 0;
    reading = { freeBytes: 100 * MB, where: 'the file system of /data' };
    space = new StoreSpace(() => now);
  });

  it('is out of space while a probe measures less than the floor, naming what it measured', () => {
    space.watch('sqlite', () => reading);
    expect(space.problem()).toBeNull();
    reading = { ...reading, freeBytes: MIN_FREE_BYTES - 1 };
    expect(space.problem()).toBe(
      `The event store is out of space: sqlite: the file system of /data has ${MIN_FREE_BYTES - 1} bytes free.`,
    );
  });

  it('after a full error, stays out of space until a write succeeds', () => {
    space.watch('sqlite', () => reading);
    reading = { ...reading, freeBytes: 2 * MB }; // a 5 MB batch did not fit in 2 MB
    space.reportFull('sqlite', new StoreFullError('disk full'));
    expect(space.problem()).toMatch(/sqlite: a write failed for lack of space \(disk full\)/);
    space.reportWritten('sqlite');
    expect(space.problem()).toBeNull();
  });

  it('after a full error, has room again once the probe shows space freed, without any write', () => {
    space.watch('sqlite', () => reading);
    reading = { ...reading, freeBytes: 2 * MB };
    space.reportFull('sqlite', new StoreFullError('disk full'));
    reading = { ...reading, freeBytes: 2 * MB + RECOVERY_MARGIN_BYTES - 1 };
    expect(space.problem()).not.toBeNull();
    reading = { ...reading, freeBytes: 2 * MB + RECOVERY_MARGIN_BYTES };
    expect(space.problem()).toBeNull();
    expect(space.problem()).toBeNull(); // the report was dropped, not just outvoted
  });

  it('ignores errors that are not about space, and the same error reported twice', () => {
    space.watch('sqlite', () => reading);
    space.reportFull('sqlite', new Error('database is locked'));
    expect(space.problem()).toBeNull();
    const error = new StoreFullError('disk full');
    space.reportFull('sqlite', error);
    space.reportWritten('sqlite');
    space.reportFull('store', error); // the exception filter sees the same error again
    expect(space.problem()).toBeNull();
  });

  it('holds a store without a probe out of space for a while after its last full error', () => {
    space.reportFull('store', Object.assign(new Error('No space left on device'), { code: 14031 }));
    expect(space.problem()).toMatch(/store: a write failed for lack of space/);
    now += UNPROBED_HOLD_MS - 1;
    expect(space.problem()).not.toBeNull();
    now += 1;
    expect(space.problem()).toBeNull();
  });

  it('forgets a store that closed, and a probe that throws says nothing', () => {
    const unwatch = space.watch('sqlite', () => {
      throw new Error('ENOENT');
    });
    expect(space.problem()).toBeNull();
    unwatch();
    space.watch('sqlite', () => ({ ...reading, freeBytes: 0 }));
    unwatch(); // an old registration's unwatch leaves the new one alone
    expect(space.problem()).toMatch(/has 0 bytes free/);
  });
});
