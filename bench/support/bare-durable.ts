import 'reflect-metadata';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  Body,
  CanActivate,
  Controller,
  ExecutionContext,
  HttpCode,
  Inject,
  Module,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@app/config';
import { prepareEvent, RequestOrigin } from '@app/events';
import { IngestQueue } from '@app/queue';
import { InlineQueue } from '@app/queue/inline';
import { openStores } from '@app/storage';
import { openColumnarCopy } from '@app/storage/duckdb';
import { sqliteDatabaseOf, SqliteWriterThread } from '@app/storage/sqlite';
import { ROOT } from './processes';

/**
 * The engine's floor for ingest: bare-nest.ts (NestJS on Fastify, a guard
 * reading the Authorization header, the same answers) storing each request's
 * events the way the standalone server does, and nothing else. Events are
 * prepared (validation, keen fields, keyed id), group-committed by the same
 * inline queue through the same SQLite writer thread (the write use case:
 * insert and schema counters, `synchronous=FULL`), and the same columnar copy
 * follows them in its own thread (BARE_DURABLE_COPY=false leaves it out).
 * No key check, request ids, metrics, CORS or security headers, rate limits,
 * add-ons or Keen-shaped errors. What this server answers is what the engine
 * leaves room for on the machine, under the same framework.
 */
const QUEUE = Symbol('QUEUE');
const ID_SECRET = 'cd'.repeat(32);
const OPTIONS = { idSecret: ID_SECRET, maxEventBytes: 1 << 20 };

class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    return typeof req.headers.authorization === 'string';
  }
}

function origin(projectId: string): RequestOrigin {
  return { projectId, requestId: randomUUID(), receivedAt: Date.now() };
}

@Controller('3.0/projects/:projectId/events')
@UseGuards(HeaderGuard)
class DurableController {
  constructor(@Inject(QUEUE) private readonly queue: IngestQueue) {}

  @Post(':collection')
  @HttpCode(201)
  async recordOne(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Body() body: unknown,
  ) {
    const from = origin(projectId);
    const event = prepareEvent(collection, body, 0, from, OPTIONS);
    await this.queue.enqueue({ batchId: from.requestId, projectId, events: [event] });
    return { created: true };
  }

  @Post()
  @HttpCode(200)
  async recordBatch(
    @Param('projectId') projectId: string,
    @Body() body: Record<string, unknown[]>,
  ) {
    const from = origin(projectId);
    const out: Record<string, Array<{ success: true }>> = {};
    const events = [];
    let index = 0;
    for (const [collection, list] of Object.entries(body)) {
      for (const e of list) events.push(prepareEvent(collection, e, index++, from, OPTIONS));
      out[collection] = list.map(() => ({ success: true }));
    }
    await this.queue.enqueue({ batchId: from.requestId, projectId, events });
    return out;
  }
}

async function main(): Promise<void> {
  const config = loadConfig('standalone', { STORE: 'sqlite', DATA_DIR: process.env.DATA_DIR! });
  const stores = await openStores(config);
  const db = sqliteDatabaseOf(stores)!;
  const writer = new SqliteWriterThread({
    entry: path.join(ROOT, 'dist/apps/standalone/src/writer-thread.js'),
    file: db.file,
    maxBytes: config.storage.sqliteMaxBytes,
    maxProperties: stores.maxProperties,
  });
  await writer.start();
  db.setWriteGate((work) => writer.exclusive(work));
  if (process.env.BARE_DURABLE_COPY !== 'false') {
    await openColumnarCopy(
      stores,
      config,
      path.join(ROOT, 'dist/apps/standalone/src/columnar-thread.js'),
      (message) => process.stderr.write(`${message}\n`),
    );
  }
  const queue = new InlineQueue(writer, { maxInFlight: 2 });

  @Module({ controllers: [DurableController], providers: [{ provide: QUEUE, useValue: queue }] })
  class DurableModule {}

  const app = await NestFactory.create<NestFastifyApplication>(
    DurableModule,
    new FastifyAdapter({ bodyLimit: 10 * 1024 * 1024 }),
    { logger: false },
  );
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.stdout.write('bare durable listening on\n');
}

void main();
