import { TallyError } from '@app/events';
import { isStoreFullError, StoreFullError } from './store-full';
import { isRetryableStoreError } from './store-unavailable';

function coded(code: unknown, message = 'failed'): Error {
  return Object.assign(new Error(message), { code });
}

describe('isStoreFullError', () => {
  it("recognises the drivers' and the OS's wordings of a full store", () => {
    expect(isStoreFullError(coded('SQLITE_FULL', 'database or disk is full'))).toBe(true);
    expect(isStoreFullError(coded('ENOSPC'))).toBe(true);
    expect(isStoreFullError(coded(14031))).toBe(true); // MongoDB OutOfDiskSpace
    expect(isStoreFullError(new Error('WiredTiger error: No space left on device'))).toBe(true);
    expect(isStoreFullError(new StoreFullError('full'))).toBe(true);
  });

  it('looks through a wrapping error to its cause', () => {
    expect(isStoreFullError(new Error('batch failed', { cause: coded('SQLITE_FULL') }))).toBe(true);
  });

  it('never reads client input in a domain error as a full store, nor other failures', () => {
    const quoting = new TallyError(
      'invalid',
      'InvalidPropertyNameError',
      'Invalid property name "No space left on device"',
    );
    expect(isStoreFullError(quoting)).toBe(false);
    expect(isStoreFullError(coded('SQLITE_BUSY', 'database is locked'))).toBe(false);
    expect(isStoreFullError(coded('SQLITE_CONSTRAINT'))).toBe(false);
    expect(isStoreFullError(undefined)).toBe(false);
  });

  it('makes a full store retryable: the worker keeps the events, a delete job resumes later', () => {
    expect(isRetryableStoreError(coded('SQLITE_FULL'))).toBe(true);
    expect(isRetryableStoreError(coded('SQLITE_CONSTRAINT'))).toBe(false);
  });
});
