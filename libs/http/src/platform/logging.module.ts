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
                err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'silent',
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
