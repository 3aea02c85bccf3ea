import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Errors Node's HTTP parser raises before a request reaches Fastify (a body
 * that never finishes, oversized headers, bytes that are not HTTP). They are
 * answered here, on the raw socket, in the same Keen shape as every other
 * error, and never logged as server errors: they are the client's doing.
 */
const BY_CODE: Record<string, { status: number; errorCode: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    errorCode: 'RequestTimeoutError',
    message: 'The request was not received in full in time (REQUEST_TIMEOUT_MS).',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    errorCode: 'RequestHeaderFieldsTooLargeError',
    message: 'The request line and headers are larger than the server accepts (16 KB).',
  },
};

const MALFORMED = {
  status: 400,
  errorCode: 'InvalidRequestError',
  message: 'The request is not valid HTTP.',
};

export function keenClientErrorHandler(
  log: (code: string | undefined) => void,
): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    log(err.code);
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const known =
      (err.code && Object.hasOwn(BY_CODE, err.code) ? BY_CODE[err.code] : undefined) ?? MALFORMED;
    const body = JSON.stringify({ message: known.message, error_code: known.errorCode });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          'X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy();
  };
}
