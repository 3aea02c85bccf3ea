// The boundary rules (tools/eslint/boundaries.js) fire on a violating snippet and
// stay silent on its allowed counterpart. Snippets are linted under virtual paths
// with the repository's own config, so the spec also proves the rules are
// registered in eslint.config.js.
import { join } from 'node:path';
import { ESLint, Linter } from 'eslint';

const repoRoot = join(__dirname, '..', '..');

// ESLint loads eslint.config.js through import(), which jest's VM refuses without
// --experimental-vm-modules; the same config array is handed over directly instead.
const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfigFile: true,
  overrideConfig: require(join(repoRoot, 'eslint.config.js')) as Linter.Config[],
});

interface Finding {
  ruleId: string | null;
  message: string;
}

/** The boundary messages (and any parse failure) of `code` linted as if it lived at `filePath`. */
async function boundaryFindings(code: string, filePath: string): Promise<Finding[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages
    .filter((m) => m.fatal || m.ruleId?.startsWith('boundaries/'))
    .map((m) => ({ ruleId: m.ruleId, message: m.message }));
}

const crossUnit = (spec: string, from: string, to: string): Finding => ({
  ruleId: 'boundaries/no-relative-cross-unit',
  message: `'${spec}' leaves ${from} for ${to}: import another unit through its path alias (tsconfig.json paths), not a relative path.`,
});
const driver = (spec: string, dir: string): Finding => ({
  ruleId: 'boundaries/driver-in-adapter',
  message: `'${spec}' is a driver package: import it only under ${dir}/.`,
});
const nest = (spec: string, lib: string): Finding => ({
  ruleId: 'boundaries/no-nest-in-pure-libs',
  message: `'${spec}' in ${lib}: this lib stays free of Nest; wire it from a module in libs/api or apps/.`,
});
const ingestStore = (name: string): Finding => ({
  ruleId: 'boundaries/ingest-no-event-store',
  message: `'${name}' from '@app/storage' in the ingest routes: the ingest pool opens no event store (the worker writes events).`,
});
const ingestAdapter = (spec: string): Finding => ({
  ruleId: 'boundaries/ingest-no-event-store',
  message: `'${spec}' in the ingest routes: the ingest pool opens no event store (the worker writes events).`,
});
const outside = (spec: string, to: string): Finding => ({
  ruleId: 'boundaries/libs-no-app-imports',
  message: `'${spec}' from production code in libs/: ${to} is not part of the production build.`,
});

describe('boundaries/no-relative-cross-unit', () => {
  it('fires on a relative import from one lib into another', async () => {
    const spec = '../../../storage/src/ports/event-store.port';
    expect(
      await boundaryFindings(
        `export { EventStore } from '${spec}';\n`,
        'libs/core/src/ingest/x.ts',
      ),
    ).toEqual([crossUnit(spec, 'libs/core', 'libs/storage')]);
  });

  it('fires between the route folders of libs/api, each its own unit', async () => {
    expect(
      await boundaryFindings(`export * from '../query/ndjson';\n`, 'libs/api/src/ingest/x.ts'),
    ).toEqual([crossUnit('../query/ndjson', 'libs/api/src/ingest', 'libs/api/src/query')]);
  });

  it('fires from test/ into libs/ and between top-level folders', async () => {
    expect(
      await boundaryFindings(`import '../../libs/core/src/index';\n`, 'test/support/x.ts'),
    ).toEqual([crossUnit('../../libs/core/src/index', 'test', 'libs/core')]);
    expect(
      await boundaryFindings(`import '../test/support/split-stack';\n`, 'bench/x.bench.ts'),
    ).toEqual([crossUnit('../test/support/split-stack', 'bench', 'test')]);
  });

  it('fires on a baseUrl-rooted path as on a relative one', async () => {
    expect(
      await boundaryFindings(
        `import 'libs/storage/src/ports/event-store.port';\n`,
        'apps/worker/src/x.ts',
      ),
    ).toEqual([crossUnit('libs/storage/src/ports/event-store.port', 'apps', 'libs/storage')]);
  });

  it('allows relative imports inside the same lib and the same top-level folder', async () => {
    expect(
      await boundaryFindings(`export * from '../log.port';\n`, 'libs/core/src/ingest/x.ts'),
    ).toEqual([]);
    expect(
      await boundaryFindings(`export * from '../../src/ports';\n`, 'libs/storage/src/mongo/x.ts'),
    ).toEqual([]);
    expect(
      await boundaryFindings(`export * from './ndjson';\n`, 'libs/api/src/query/x.ts'),
    ).toEqual([]);
    expect(
      await boundaryFindings(`import '../support/split-stack';\n`, 'test/split/x.e2e-spec.ts'),
    ).toEqual([]);
    expect(
      await boundaryFindings(`export * from '@app/storage';\n`, 'libs/core/src/ingest/x.ts'),
    ).toEqual([]);
  });
});

describe('boundaries/driver-in-adapter', () => {
  it('fires on a driver import in libs/core', async () => {
    expect(
      await boundaryFindings(
        `import Database from 'better-sqlite3';\nexport { Database };\n`,
        'libs/core/src/fixture.ts',
      ),
    ).toEqual([driver('better-sqlite3', 'libs/storage/src/sqlite')]);
  });

  it('fires on mongodb in libs/core, in every form of import and on subpaths', async () => {
    const code = [
      `import { MongoClient } from 'mongodb';`,
      `import type { Db } from 'mongodb';`,
      `export { ObjectId } from 'mongodb';`,
      `export * from 'mongodb/lib/bson';`,
      `const driver = require('mongodb');`,
      `export const later = () => import('mongodb');`,
      `export type Client = import('mongodb').MongoClient;`,
      `export { MongoClient, driver };`,
      `export type { Db };`,
    ].join('\n');
    const found = await boundaryFindings(code, 'libs/core/src/fixture.ts');
    expect(found).toEqual([
      driver('mongodb', 'libs/storage/src/mongo'),
      driver('mongodb', 'libs/storage/src/mongo'),
      driver('mongodb', 'libs/storage/src/mongo'),
      driver('mongodb/lib/bson', 'libs/storage/src/mongo'),
      driver('mongodb', 'libs/storage/src/mongo'),
      driver('mongodb', 'libs/storage/src/mongo'),
      driver('mongodb', 'libs/storage/src/mongo'),
    ]);
  });

  it('fires on bullmq in the mongo adapter and on cassandra-driver in apps/', async () => {
    expect(
      await boundaryFindings(`export { Queue } from 'bullmq';\n`, 'libs/storage/src/mongo/x.ts'),
    ).toEqual([driver('bullmq', 'libs/queue/src/bullmq')]);
    expect(
      await boundaryFindings(
        `export { Client } from 'cassandra-driver';\n`,
        'apps/worker/src/x.ts',
      ),
    ).toEqual([driver('cassandra-driver', 'libs/storage/src/cassandra')]);
  });

  it('allows each driver in its adapter folder (testing/ helpers included) and outside libs/ and apps/', async () => {
    expect(
      await boundaryFindings(
        `export { MongoClient } from 'mongodb';\n`,
        'libs/storage/src/mongo/x.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(
        `export { Client } from 'cassandra-driver';\n`,
        'libs/storage/src/cassandra/x.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(
        `import Database from 'better-sqlite3';\nexport { Database };\n`,
        'libs/storage/src/sqlite/x.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(
        `export { Queue } from 'bullmq';\nexport { Redis } from 'ioredis';\n`,
        'libs/queue/src/bullmq/testing/x.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(`export { MongoClient } from 'mongodb';\n`, 'test/support/x.ts'),
    ).toEqual([]);
  });
});

describe('boundaries/no-nest-in-pure-libs', () => {
  it('fires on @nestjs/common in libs/query-engine', async () => {
    expect(
      await boundaryFindings(
        `export { Injectable } from '@nestjs/common';\n`,
        'libs/query-engine/src/x.ts',
      ),
    ).toEqual([nest('@nestjs/common', 'libs/query-engine')]);
  });

  it('fires in libs/core, testing helpers included', async () => {
    expect(
      await boundaryFindings(
        `export { Test } from '@nestjs/testing';\n`,
        'libs/core/src/testing/x.ts',
      ),
    ).toEqual([nest('@nestjs/testing', 'libs/core')]);
  });

  it('allows Nest in libs/http and libs/api', async () => {
    expect(
      await boundaryFindings(
        `export { Injectable } from '@nestjs/common';\n`,
        'libs/http/src/x.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(
        `export { Injectable } from '@nestjs/common';\n`,
        'libs/api/src/ingest/x.ts',
      ),
    ).toEqual([]);
  });
});

describe('boundaries/ingest-no-event-store', () => {
  it("fires on EventStore from '@app/storage' in libs/api/src/ingest", async () => {
    expect(
      await boundaryFindings(
        `import type { EventStore } from '@app/storage';\nexport type S = EventStore;\n`,
        'libs/api/src/ingest/x.ts',
      ),
    ).toEqual([ingestStore('EventStore')]);
  });

  it('fires on the other store names, renamed or re-exported, and on the adapter folders', async () => {
    const code = [
      `import { EVENT_STORE as TOKEN, STORES } from '@app/storage';`,
      `export { Stores } from '@app/storage';`,
      `export { TOKEN, STORES };`,
      `export * from '@app/storage/memory';`,
      `export const mongo = () => import('@app/storage/mongo/testing');`,
    ].join('\n');
    expect(await boundaryFindings(code, 'libs/api/src/ingest/x.ts')).toEqual([
      ingestStore('EVENT_STORE'),
      ingestStore('STORES'),
      ingestStore('Stores'),
      ingestAdapter('@app/storage/memory'),
      ingestAdapter('@app/storage/mongo/testing'),
    ]);
  });

  it('allows metadata from @app/storage in ingest, and event stores in the query routes', async () => {
    expect(
      await boundaryFindings(
        `export { METADATA_STORE, MetadataStore } from '@app/storage';\n`,
        'libs/api/src/ingest/x.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(
        `export { EVENT_STORE, EventStore } from '@app/storage';\n`,
        'libs/api/src/query/x.ts',
      ),
    ).toEqual([]);
  });
});

describe('boundaries/libs-no-app-imports', () => {
  it('fires on @tools/stack in libs/core', async () => {
    expect(
      await boundaryFindings(
        `export { redisService } from '@tools/stack';\n`,
        'libs/core/src/x.ts',
      ),
    ).toEqual([outside('@tools/stack', '@tools/stack')]);
  });

  it('fires on paths into test/, apps/ and bench/ from production code', async () => {
    expect(
      await boundaryFindings(`export * from 'test/support/split-stack';\n`, 'libs/http/src/x.ts'),
    ).toEqual([
      crossUnit('test/support/split-stack', 'libs/http', 'test'),
      outside('test/support/split-stack', 'test/'),
    ]);
    expect(
      await boundaryFindings(
        `export * from '../../../apps/worker/src/main';\n`,
        'libs/http/src/x.ts',
      ),
    ).toEqual([
      crossUnit('../../../apps/worker/src/main', 'libs/http', 'apps'),
      outside('../../../apps/worker/src/main', 'apps/'),
    ]);
  });

  it('allows @tools/stack in testing/ helpers and in specs', async () => {
    expect(
      await boundaryFindings(
        `export { mongoService } from '@tools/stack';\n`,
        'libs/storage/src/mongo/testing/x.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(
        `export { redisService } from '@tools/stack';\n`,
        'libs/queue/src/bullmq/x.int-spec.ts',
      ),
    ).toEqual([]);
    expect(
      await boundaryFindings(
        `export { redisService } from '@tools/stack';\n`,
        'libs/core/src/x.spec.ts',
      ),
    ).toEqual([]);
  });
});
