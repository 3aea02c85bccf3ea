import { TallyError } from '@app/events';
import { isRetryableStoreError, isStoreUnavailableError } from './store-unavailable';

function named(name: string, cause?: unknown): Error {
  const e = new Error(`${name} happened`, { cause });
  e.name = name;
  return e;
}

describe('isStoreUnavailableError', () => {
  it('recognises driver connectivity and timeout errors', () => {
    expect(isStoreUnavailableError(named('MongoNetworkTimeoutError'))).toBe(true);
    expect(isStoreUnavailableError(named('MongoPoolClearedError'))).toBe(true);
    expect(isStoreUnavailableError(named('NoHostAvailableError'))).toBe(true);
    expect(isStoreUnavailableError(named('OperationTimedOutError'))).toBe(true);
  });

  it("recognises Cassandra's answers about the cluster (a node restarting, timeouts), not about the request", () => {
    const response = (code: number) => Object.assign(named('ResponseError'), { code });
    expect(isStoreUnavailableError(response(0x1000))).toBe(true); // unavailable
    expect(isStoreUnavailableError(response(0x1002))).toBe(true); // bootstrapping
    expect(isStoreUnavailableError(response(0x1200))).toBe(true); // read timeout
    expect(isRetryableStoreError(response(0x1100))).toBe(true); // write timeout: never poison
    expect(isStoreUnavailableError(response(0x2200))).toBe(false); // invalid query
    expect(isStoreUnavailableError(response(0x2000))).toBe(false); // syntax error
  });

  it('looks through a wrapping error to its cause', () => {
    expect(isStoreUnavailableError(named('Error', named('MongoServerSelectionError')))).toBe(true);
  });

  it('leaves request and programming errors alone', () => {
    expect(isStoreUnavailableError(named('MongoServerError'))).toBe(false);
    expect(isStoreUnavailableError(new TypeError('x is undefined'))).toBe(false);
    expect(isStoreUnavailableError('not an error')).toBe(false);
    expect(isStoreUnavailableError(undefined)).toBe(false);
  });
});

describe('isRetryableStoreError', () => {
  it('retries driver outages and adapters saying unavailable, nothing else', () => {
    expect(isRetryableStoreError(named('MongoNetworkTimeoutError'))).toBe(true);
    expect(
      isRetryableStoreError(new TallyError('unavailable', 'StoreLostWriteError', 'lost')),
    ).toBe(true);
    expect(isRetryableStoreError(new TallyError('invalid', 'InvalidEventError', 'bad'))).toBe(
      false,
    );
    expect(isRetryableStoreError(named('MongoServerError'))).toBe(false);
  });
});
