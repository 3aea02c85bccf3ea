import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ErrorKind, TallyError } from '@app/events';
import {
  isStoreFullError,
  isStoreUnavailableError,
  STORE_FULL_MESSAGE,
  StoreFullError,
  storeSpace,
} from '@app/storage';

/**
 * Seconds a client is asked to wait when the store is out of space: freeing
 * space takes an operator, so retrying every second would only add load.
 */
const STORE_FULL_RETRY_AFTER_S = 30;

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  timeout: 504,
};

// Nest turns Fastify's own errors (body parsing, limits) into HttpExceptions
// that keep only the status and message; these give them Keen error codes.
function httpErrorCode(status: number, message: string): string {
  if (status === 404) return 'ResourceNotFoundError';
  if (status === 413) return 'RequestTooLargeError';
  if (status === 415) return 'UnsupportedMediaTypeError';
  if (status === 400 && /json|body/i.test(message)) return 'InvalidJsonError';
  return 'InvalidRequestError';
}

interface ErrorBody {
  message: string;
  error_code: string;
  request_id: string;
}

interface Reply {
  status(code: number): Reply;
  header(name: string, value: string): Reply;
  send(body: unknown): void;
}

/**
 * The one place errors become HTTP: Keen's `{message, error_code}` body, plus
 * the request id so a user's report can be matched with our log line.
 */
@Catch()
export class KeenExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<Reply>();
    const request = host.switchToHttp().getRequest<{ id: string; method: string; url: string }>();
    const { status, body, retryAfter } = this.describe(exception, request.id);
    if (status === 507) {
      // Not a bug, but it needs an operator: logged at error level under its own message.
      storeSpace.reportFull('store', exception);
      this.logger.error(
        { err: exception, request_id: request.id, method: request.method, url: request.url },
        'store out of space',
      );
    } else if (status >= 500 && status !== 503 && status !== 504) {
      this.logger.error(
        { err: exception, request_id: request.id, method: request.method, url: request.url },
        'unhandled error',
      );
    }
    if (status === 503 && isStoreUnavailableError(exception)) {
      this.logger.warn(
        { err: exception, request_id: request.id, method: request.method, url: request.url },
        'store unavailable',
      );
    }
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    reply.status(status).send(body);
  }

  private describe(
    exception: unknown,
    requestId: string,
  ): { status: number; body: ErrorBody; retryAfter?: number } {
    if (exception instanceof TallyError) {
      return {
        status: STATUS[exception.kind],
        body: {
          message: exception.message,
          error_code: exception.errorCode,
          request_id: requestId,
        },
        retryAfter: exception.retryAfterSeconds,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message = status === 404 ? 'Resource not found.' : exception.message;
      return {
        status,
        body: { message, error_code: httpErrorCode(status, message), request_id: requestId },
      };
    }
    if (isStoreFullError(exception)) {
      // Nothing was written (the store rolled the request back whole): 507, and
      // the client keeps the data and retries once space is freed.
      return {
        status: 507,
        body: {
          message: exception instanceof StoreFullError ? exception.message : STORE_FULL_MESSAGE,
          error_code: 'InsufficientStorageError',
          request_id: requestId,
        },
        retryAfter: STORE_FULL_RETRY_AFTER_S,
      };
    }
    if (isStoreUnavailableError(exception)) {
      // The store is down or overloaded: retrying later is the right move for the client.
      return {
        status: 503,
        body: {
          message: 'The event store is unavailable or timed out; retry later.',
          error_code: 'StoreUnavailableError',
          request_id: requestId,
        },
        retryAfter: 1,
      };
    }
    return {
      status: 500,
      body: {
        message: 'Internal server error.',
        error_code: 'InternalServerError',
        request_id: requestId,
      },
    };
  }
}
