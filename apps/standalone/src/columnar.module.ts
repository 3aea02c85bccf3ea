import * as path from 'node:path';
import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { watchThreadCpu } from '@app/http';
import { copyProgressReporter } from './copy-progress';
import { COMPILED_QUERIES, CompiledQueries, STORES, Stores } from '@app/storage';

/** The built entry of the columnar thread, beside this file in dist/. */
export const COLUMNAR_THREAD_ENTRY = path.join(__dirname, 'columnar-thread.js');

/** The copy this process opened, if any (closed before the stores). */
const COPY = Symbol('COLUMNAR_COPY');

interface OpenCopy extends CompiledQueries {
  close(): Promise<void>;
}

/**
 * The columnar copy of the standalone server's events (docs/storage-engine.md):
 * queries it can compile exactly are answered by DuckDB, the others by the
 * TypeScript engine. Off with QUERY_COLUMNAR=false or on another store.
 */
async function openCopy(stores: Stores, config: TallyConfig): Promise<OpenCopy | null> {
  if (config.storage.kind !== 'sqlite' || !config.query.columnar.enabled) return null;
  const { openColumnarCopy } = await import('@app/storage/duckdb');
  const logger = new Logger('ColumnarCopy');
  const thread = await openColumnarCopy(
    stores,
    config,
    COLUMNAR_THREAD_ENTRY,
    (message) => logger.warn(message),
    copyProgressReporter((message) => logger.log(message)),
  );
  const unwatch = watchThreadCpu('columnar', () => thread.threadId);
  return {
    answer: (projectId, query, options) => thread.answer(projectId, query, options),
    close: async () => {
      unwatch();
      await thread.close();
    },
  };
}

class CopyCloser implements OnApplicationShutdown {
  constructor(@Inject(COPY) private readonly copy: OpenCopy | null) {}
  // Imported after StorageModule, so it shuts down before the stores close.
  async onApplicationShutdown(): Promise<void> {
    await this.copy?.close();
  }
}

@Global()
@Module({
  providers: [
    { provide: COPY, inject: [STORES, TALLY_CONFIG], useFactory: openCopy },
    { provide: COMPILED_QUERIES, useExisting: COPY },
    CopyCloser,
  ],
  exports: [COMPILED_QUERIES],
})
export class ColumnarModule {}
