import 'reflect-metadata';
import {
  Body,
  CanActivate,
  Controller,
  ExecutionContext,
  HttpCode,
  Module,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * The framework's floor: NestJS on Fastify with a guard reading the
 * Authorization header and a controller answering the same bodies as Tally's
 * write API, storing nothing. The bare Fastify echo (bare-fastify.ts) divided
 * by this shows what the framework alone costs; this divided by Tally, what
 * Tally's own work and the store cost.
 */
class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    return typeof req.headers.authorization === 'string';
  }
}

@Controller('3.0/projects/:projectId/events')
@UseGuards(HeaderGuard)
class EchoController {
  @Post(':collection')
  @HttpCode(201)
  recordOne(@Param('collection') _collection: string, @Body() _body: unknown) {
    return { created: true };
  }

  @Post()
  @HttpCode(200)
  recordBatch(@Body() body: Record<string, unknown[]>) {
    const out: Record<string, Array<{ success: true }>> = {};
    for (const [c, events] of Object.entries(body)) out[c] = events.map(() => ({ success: true }));
    return out;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(
    EchoModule,
    new FastifyAdapter({ bodyLimit: 10 * 1024 * 1024 }),
    { logger: false },
  );
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.stdout.write('bare nest listening on\n');
}

void main();
