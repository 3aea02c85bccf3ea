import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ErrorKind, TallyError } from '@app/events';

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

// Fastify's own parser errors, reached before any handler runs.
const FASTIFY_CODES: Record<string, { status: number; errorCode: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, errorCode: 'RequestTooLargeError' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, errorCode: 'InvalidJsonError' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, errorCode: 'InvalidJsonError', message: 'The request body is empty.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, errorCode: 'UnsupportedMediaTypeError' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, errorCode: 'InvalidRequestError' },
};

interface ErrorBody {
  message: string;
  error_code: string;
  request_id: string;
}

interface FastifyishError {
  code?: string;
  statusCode?: number;
  message?: string;
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
    if (status >= 500 && status !== 503 && status !== 504) {
      this.logger.error(
        { err: exception, request_id: request.id, method: request.method, url: request.url },
        'unhandled error',
      );
    }
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    reply.status(status).send(body);
  }

  private describe(exception: unknown, requestId: string): { status: number; body: ErrorBody; retryAfter?: number } {
    if (exception instanceof TallyError) {
      return {
        status: STATUS[exception.kind],
        body: { message: exception.message, error_code: exception.errorCode, request_id: requestId },
        retryAfter: exception.retryAfterSeconds,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const errorCode = status === 404 ? 'ResourceNotFoundError' : status === 405 ? 'MethodNotAllowedError' : 'InvalidRequestError';
      const message = status === 404 ? 'Resource not found.' : exception.message;
      return { status, body: { message, error_code: errorCode, request_id: requestId } };
    }
    const err = (exception ?? {}) as FastifyishError;
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) {
      return {
        status: known.status,
        body: { message: known.message ?? err.message ?? known.errorCode, error_code: known.errorCode, request_id: requestId },
      };
    }
    if (exception instanceof SyntaxError) {
      return { status: 400, body: { message: `Malformed JSON: ${exception.message}`, error_code: 'InvalidJsonError', request_id: requestId } };
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return { status: err.statusCode, body: { message: err.message ?? 'Bad request', error_code: 'InvalidRequestError', request_id: requestId } };
    }
    return {
      status: 500,
      body: { message: 'Internal server error.', error_code: 'InternalServerError', request_id: requestId },
    };
  }
}
