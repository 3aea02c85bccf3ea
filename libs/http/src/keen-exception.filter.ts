import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { ErrorKind, TallyError } from '@app/events';
import { isStoreFullError, isStoreUnavailableError, STORE_FULL_MESSAGE, StoreFullError, storeSpace } from '@app/storage';
import { redactUrl } from './redact';
import { RouteTable } from './route-table';

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
  if (status === 405) return 'MethodNotAllowedError';
  if (status === 408) return 'RequestTimeoutError';
  if (status === 413) return 'RequestTooLargeError';
  if (status === 414) return 'RequestUriTooLongError';
  if (status === 415) return 'UnsupportedMediaTypeError';
  if (status === 431) return 'RequestHeaderFieldsTooLargeError';
  if (status === 400 && /json|body/i.test(message)) return 'InvalidJsonError';
  return 'InvalidRequestError';
}

/** Fastify's own errors (FST_ERR_*) carry the 4xx they stand for. */
function clientStatusOf(exception: unknown): number | undefined {
  const status = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/**
 * A request whose client went away mid-body (the socket reset or the body
 * stream aborted): nothing to answer and nothing wrong on our side.
 */
function isClientAbort(exception: unknown, raw: { aborted?: boolean } | undefined): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  const message = exception instanceof Error ? exception.message : '';
  return (
    code === 'ECONNRESET' ||
    code === 'ECONNABORTED' ||
    message === 'aborted' ||
    raw?.aborted === true
  );
}

// Fastify's messages for these quote the URL, which may carry the key.
const GENERIC_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is not valid (a malformed percent-escape or character).',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment is longer than the server accepts (4096 characters).',
};

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

  /** `routes` lets an unserved method on a known path answer 405 instead of 404. */
  constructor(private readonly routes?: RouteTable) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<Reply>();
    const request = host.switchToHttp().getRequest<{
      id: string;
      method: string;
      url: string;
      raw?: { aborted?: boolean };
    }>();
    const where = { request_id: request.id, method: request.method, url: redactUrl(request.url) };
    if (
      !(exception instanceof TallyError) &&
      !(exception instanceof HttpException) &&
      isClientAbort(exception, request.raw)
    ) {
      this.logger.log(
        { ...where, reason: (exception as Error)?.message },
        'client aborted the request',
      );
      reply
        .status(400)
        .send({
          message: 'The client closed the request before it was complete.',
          error_code: 'ClientClosedRequestError',
          request_id: request.id,
        });
      return;
    }
    const allow = this.allowedInstead(exception, request.url);
    if (allow) {
      reply.header('allow', allow.join(', '));
      reply.status(405).send({
        message: `${request.method} is not served on this path; it answers ${allow.join(', ')}.`,
        error_code: 'MethodNotAllowedError',
        request_id: request.id,
      });
      return;
    }
    const { status, body, retryAfter } = this.describe(exception, request.id);
    if (status === 507) {
      // Not a bug, but it needs an operator: logged at error level under its own message.
      storeSpace.reportFull('store', exception);
      this.logger.error({ err: exception, ...where }, 'store out of space');
    } else if (status >= 500 && status !== 503 && status !== 504) {
      this.logger.error({ err: exception, ...where }, 'unhandled error');
    }
    if (status === 503 && isStoreUnavailableError(exception)) {
      this.logger.warn({ err: exception, ...where }, 'store unavailable');
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
    const clientStatus = clientStatusOf(exception);
    if (clientStatus !== undefined) {
      const code = String((exception as { code?: unknown }).code ?? '');
      const message = Object.hasOwn(GENERIC_MESSAGES, code)
        ? GENERIC_MESSAGES[code]
        : (exception as Error).message || 'The request is not valid.';
      return {
        status: clientStatus,
        body: { message, error_code: httpErrorCode(clientStatus, message), request_id: requestId },
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

  /** The methods a known path serves, when an unmatched request used another one. */
  private allowedInstead(exception: unknown, url: string): string[] | undefined {
    if (!this.routes || !(exception instanceof NotFoundException)) return undefined;
    if (!/^Cannot [A-Z]+ /.test(exception.message)) return undefined;
    const methods = this.routes.allowedMethods(url).filter((m) => m !== 'OPTIONS');
    return methods.length > 0 ? methods : undefined;
  }
}
