import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { TallyConfig } from '@app/config';
import { redactLine } from './redact';

/** Written line by line through the key scrubber (pino writes whole lines). */
const scrubbedStdout = {
  write(line: string): void {
    process.stdout.write(redactLine(line));
  },
};

/**
 * Structured JSON logs through pino, for the app's own logger. Requests are
 * logged once answered by `logAnsweredRequest` (request-log.ts), from a
 * Fastify hook, not by nestjs-pino's per-request middleware: `forRoutes: []`
 * keeps that middleware off every route. Every line passes the key scrubber.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          forRoutes: [],
          pinoHttp: [
            // wrapSerializers: false keeps pino-http's request serializers off
            // the root logger: request-log.ts writes its `req` fields itself.
            { level: config.logLevel, base: { pool: config.pool }, wrapSerializers: false },
            scrubbedStdout,
          ],
        }),
      ],
    };
  }
}
