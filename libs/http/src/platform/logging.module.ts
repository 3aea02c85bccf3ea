import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { TallyConfig } from '@app/config';

/**
 * Structured JSON logs. Successful requests are not logged one by one (the
 * write path serves thousands a second); 4xx are warnings, 5xx errors, each
 * with the request id that the error body also carries.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            base: { pool: config.pool },
            customLogLevel: (_req, res, err) =>
              err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'silent',
            redact: ['req.headers.authorization', 'req.query.api_key'],
          },
        }),
      ],
    };
  }
}
