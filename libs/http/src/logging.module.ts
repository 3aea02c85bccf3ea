import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { TallyConfig } from '@app/config';
import { redactLine, redactUrl } from './redact';

interface LoggedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  remoteAddress?: string;
}

/**
 * 5xx that are conditions, not bugs: the queue or store is unavailable (503),
 * a query ran out of time (504), the store is out of space (507). Readiness
 * probes meet 503 every few seconds while a disk is full.
 */
const EXPECTED_5XX = new Set([503, 504, 507]);

/** Written line by line through the key scrubber (pino writes whole lines). */
const scrubbedStdout = {
  write(line: string): void {
    process.stdout.write(redactLine(line));
  },
};

/**
 * Structured JSON logs. Successful requests are not logged one by one (the
 * write path serves thousands a second); 4xx are warnings, 5xx errors, each
 * with the request id that the error body also carries. A request is logged
 * by id, method, redacted URL and a few harmless headers, never with its
 * Authorization header or api_key; every line also passes the key scrubber.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [
            {
              level: config.logLevel,
              base: { pool: config.pool },
              customLogLevel: (_req, res, err) =>
                EXPECTED_5XX.has(res.statusCode)
                  ? 'warn'
                  : err || res.statusCode >= 500
                    ? 'error'
                    : res.statusCode >= 400
                      ? 'warn'
                      : 'silent',
              // pino-http invents an Error (with a stack) for every 5xx; for the
              // expected ones that stack says nothing and floods the log.
              customErrorObject: (_req, res, _error, value) =>
                EXPECTED_5XX.has(res.statusCode) ? { ...value, err: undefined } : value,
              serializers: {
                req: (req: LoggedRequest) => ({
                  id: req.id,
                  method: req.method,
                  url: redactUrl(req.url),
                  user_agent: req.headers?.['user-agent'],
                  content_type: req.headers?.['content-type'],
                  content_length: req.headers?.['content-length'],
                  remote_address: req.remoteAddress,
                }),
                res: (res: { statusCode?: number }) => ({ status_code: res.statusCode }),
              },
            },
            scrubbedStdout,
          ],
        }),
      ],
    };
  }
}
