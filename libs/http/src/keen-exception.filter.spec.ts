import { ArgumentsHost } from '@nestjs/common';
import { TallyError } from '@app/events';
import { StoreFullError } from '@app/storage';
import { KeenExceptionFilter } from './keen-exception.filter';

/**
 * The error codes of docs/keen-compatibility.md that a client cannot provoke
 * on demand against a healthy standalone server (a bug, a store down or full,
 * a split-stack store race, a client that hung up): what the one filter
 * answers for each, status, code and Retry-After.
 */
function answer(exception: unknown, raw: { aborted?: boolean } = {}) {
  const sent: { status?: number; headers: Record<string, string>; body?: any } = { headers: {} };
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
    },
  };
  const request = { id: 'req-1', method: 'POST', url: '/3.0/projects/p/events/c?api_key=secret', raw };
  const host = {
    switchToHttp: () => ({ getResponse: () => reply, getRequest: () => request }),
  } as unknown as ArgumentsHost;
  new KeenExceptionFilter().catch(exception, host);
  return { status: sent.status, code: sent.body?.error_code, retryAfter: sent.headers['retry-after'], body: sent.body };
}

function named(name: string, message = 'driver says no'): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('KeenExceptionFilter: codes not provoked on demand in e2e', () => {
  beforeAll(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));

  it('an unexpected error: 500 InternalServerError, nothing of the error in the body', () => {
    const res = answer(new Error('secret detail at /var/lib/x'));
    expect(res).toMatchObject({ status: 500, code: 'InternalServerError' });
    expect(JSON.stringify(res.body)).not.toContain('secret detail');
    expect(res.body.request_id).toBe('req-1');
  });

  it('a store driver that is down or timing out: 503 StoreUnavailableError with Retry-After', () => {
    for (const name of ['MongoNetworkError', 'MongoServerSelectionError', 'NoHostAvailableError', 'OperationTimedOutError']) {
      expect({ name, ...answer(named(name)) }).toMatchObject({ name, status: 503, code: 'StoreUnavailableError', retryAfter: '1' });
    }
  });

  it('a full store: 507 InsufficientStorageError with Retry-After', () => {
    expect(answer(new StoreFullError('full'))).toMatchObject({ status: 507, code: 'InsufficientStorageError', retryAfter: '30' });
    expect(answer(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toMatchObject({
      status: 507,
      code: 'InsufficientStorageError',
    });
  });

  it('domain errors of kind unavailable (queue, shutdown, split-stack store races): 503 with their own code', () => {
    for (const code of ['ServiceUnavailableError', 'CountersPendingError', 'SchemaContentionError']) {
      expect(answer(new TallyError('unavailable', code, 'retry', 1))).toMatchObject({ status: 503, code, retryAfter: '1' });
    }
  });

  it('a client that hung up mid-request: ClientClosedRequestError (for the log; nobody reads it)', () => {
    expect(answer(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))).toMatchObject({
      status: 400,
      code: 'ClientClosedRequestError',
    });
    expect(answer(new Error('stream ended'), { aborted: true })).toMatchObject({ code: 'ClientClosedRequestError' });
  });
});
