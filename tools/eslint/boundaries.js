// Boundary rules of the repository's layout (README.md, "Layout"; docs/testing.md,
// "Boundaries"). Each rule works on the module specifiers of a file and on its
// path relative to the repository root; nothing is read from disk, so the rules
// also apply to text linted under a virtual path (tools/eslint/boundaries.int-spec.ts).
'use strict';

const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The linted file's path relative to the repository root, with `/` separators. */
function repoPath(context) {
  const filename = context.filename ?? context.getFilename();
  return path.relative(REPO_ROOT, filename).split(path.sep).join('/');
}

/**
 * The three Keen route folders of libs/api are deployed apart, so each is a unit of its
 * own; so is the data explorer page, which the read processes serve, the project
 * resource (`GET /3.0/projects/:id`), and each operator API (dead letters, retention)
 * the query pool and standalone load.
 */
const API_UNITS = ['ingest', 'query', 'collection', 'explorer', 'project', 'dead-letters', 'retention'];

/**
 * The unit a repo-relative path belongs to: `libs/<name>`, `libs/api/src/<route>`,
 * or the top-level folder (apps, test, bench, tools, scripts, ...). A path that
 * climbs out of the repository is its own unit, so it never matches.
 */
function unitOf(file) {
  const parts = file.split('/');
  if (parts[0] === '..') return '..';
  if (parts[0] === 'libs' && parts.length > 1) {
    if (
      parts[1] === 'api' &&
      parts[2] === 'src' &&
      API_UNITS.includes(parts[3]) &&
      parts.length > 4
    ) {
      return parts.slice(0, 4).join('/');
    }
    return `libs/${parts[1]}`;
  }
  return parts.length > 1 ? parts[0] : '';
}

const isRelative = (spec) =>
  spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../');

/**
 * tsconfig's baseUrl is the repository root, so `libs/storage/src/x` and
 * `test/support/x` compile as imports as well; they are paths, not packages.
 */
const ROOTED = /^(apps|libs|test|bench|tools|scripts)\//;

/** Where a relative or root-anchored specifier points, relative to the repository root. */
function targetOf(file, spec) {
  if (isRelative(spec))
    return path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  if (ROOTED.test(spec)) return path.posix.normalize(spec);
  return null;
}

/** `pkg` itself or one of its subpaths (`mongodb/lib/...`). */
const isPackage = (spec, pkg) => spec === pkg || spec.startsWith(`${pkg}/`);

const under = (file, dir) => file.startsWith(`${dir}/`);

/**
 * Calls `onSpecifier(spec, node, sourceNode)` for every module a file names:
 * static imports (including `import type`), re-exports, `import x = require()`,
 * `require()`, `import()` and `import('x').T` in types. `node` is the declaration
 * (for named imports), `sourceNode` the string literal to report on.
 */
function specifierVisitors(onSpecifier) {
  const literal = (node) => node && node.type === 'Literal' && typeof node.value === 'string';
  const fromSource = (node) => {
    if (literal(node.source)) onSpecifier(node.source.value, node, node.source);
  };
  return {
    ImportDeclaration: fromSource,
    ExportNamedDeclaration: fromSource,
    ExportAllDeclaration: fromSource,
    ImportExpression(node) {
      if (literal(node.source)) onSpecifier(node.source.value, node, node.source);
    },
    CallExpression(node) {
      if (
        node.callee.type === 'Identifier' &&
        node.callee.name === 'require' &&
        literal(node.arguments[0])
      ) {
        onSpecifier(node.arguments[0].value, node, node.arguments[0]);
      }
    },
    TSExternalModuleReference(node) {
      if (literal(node.expression)) onSpecifier(node.expression.value, node, node.expression);
    },
    TSImportType(node) {
      // `import('x').T` in a type; typescript-eslint 8 names the string `source`.
      if (literal(node.source)) onSpecifier(node.source.value, node, node.source);
    },
  };
}

function rule(description, messages, create) {
  return { meta: { type: 'problem', docs: { description }, schema: [], messages }, create };
}

// a. Units talk through their path aliases (`@app/core`, `@app/storage/mongo`,
// `@tools/stack`), which name the public barrel of a unit. A relative path into
// another unit reaches past that barrel into its internals, and it is invisible
// to the other rules here, which read aliases. The production build also takes
// only apps/ and libs/, so a relative path from there into test/ or tools/
// breaks the Docker image.
const noRelativeCrossUnit = rule(
  'no relative (or baseUrl-rooted) import that leaves its own lib or top-level folder',
  {
    crossUnit:
      "'{{spec}}' leaves {{from}} for {{to}}: import another unit through its path alias (tsconfig.json paths), not a relative path.",
  },
  (context) => {
    const file = repoPath(context);
    const from = unitOf(file);
    return specifierVisitors((spec, _node, source) => {
      const target = targetOf(file, spec);
      if (target === null) return;
      const to = unitOf(target);
      if (to !== from)
        context.report({ node: source, messageId: 'crossUnit', data: { spec, from, to } });
    });
  },
);

// b. Each database or queue client is loaded by its adapter folder only. The
// barrels (`@app/storage`, `@app/queue`) load no driver, so a process that
// does not use MongoDB, Cassandra or Redis never requires their clients, and a
// driver's types never leak into the ports that core and the API code against.
const DRIVERS = [
  { pkg: 'mongodb', dir: 'libs/storage/src/mongo' },
  { pkg: 'cassandra-driver', dir: 'libs/storage/src/cassandra' },
  { pkg: 'better-sqlite3', dir: 'libs/storage/src/sqlite' },
  { pkg: '@duckdb/node-api', dir: 'libs/storage/src/duckdb' },
  { pkg: 'bullmq', dir: 'libs/queue/src/bullmq' },
  { pkg: 'ioredis', dir: 'libs/queue/src/bullmq' },
  { pkg: 'nodemailer', dir: 'libs/mail/src/nodemailer' },
];

const driverInAdapter = rule(
  'driver packages only inside their adapter folder',
  { driver: "'{{spec}}' is a driver package: import it only under {{dir}}/." },
  (context) => {
    const file = repoPath(context);
    if (!under(file, 'libs') && !under(file, 'apps')) return {};
    return specifierVisitors((spec, _node, source) => {
      for (const { pkg, dir } of DRIVERS) {
        if (isPackage(spec, pkg) && !under(file, dir)) {
          context.report({ node: source, messageId: 'driver', data: { spec, dir } });
        }
      }
    });
  },
);

// c. The event model, the schema, the query engine and the use cases are plain
// TypeScript over ports: they run in the CLI, the benchmarks and unit specs
// without a Nest container, and the pool modules in libs/api wire them.
const PURE_LIBS = ['libs/events', 'libs/schema', 'libs/query-engine', 'libs/core'];

const noNestInPureLibs = rule(
  'no @nestjs import in libs/events, libs/schema, libs/query-engine, libs/core',
  {
    nest: "'{{spec}}' in {{lib}}: this lib stays free of Nest; wire it from a module in libs/api or apps/.",
  },
  (context) => {
    const file = repoPath(context);
    const lib = PURE_LIBS.find((dir) => under(file, dir));
    if (!lib) return {};
    return specifierVisitors((spec, _node, source) => {
      if (spec.startsWith('@nestjs/')) {
        context.report({ node: source, messageId: 'nest', data: { spec, lib } });
      }
    });
  },
);

// d. The ingest pool only validates and enqueues; the worker writes the events.
// An event store reached from the ingest routes would open a database
// connection in every ingest process and put its latency on the write path.
// Metadata (keys, capped collections) stays allowed through `@app/storage`.
const INGEST_DIR = 'libs/api/src/ingest';
const STORE_ADAPTERS = ['sqlite', 'mongo', 'cassandra', 'memory'].map((d) => `@app/storage/${d}`);
const EVENT_STORE_NAMES = new Set(['EVENT_STORE', 'EventStore', 'STORES', 'Stores']);

const ingestNoEventStore = rule(
  'libs/api/src/ingest never imports an event store',
  {
    adapter:
      "'{{spec}}' in the ingest routes: the ingest pool opens no event store (the worker writes events).",
    name: "'{{name}}' from '@app/storage' in the ingest routes: the ingest pool opens no event store (the worker writes events).",
  },
  (context) => {
    const file = repoPath(context);
    if (!under(file, INGEST_DIR)) return {};
    const nameOf = (n) => (n.type === 'Identifier' ? n.name : n.value);
    return specifierVisitors((spec, node, source) => {
      if (STORE_ADAPTERS.some((pkg) => isPackage(spec, pkg))) {
        context.report({ node: source, messageId: 'adapter', data: { spec } });
        return;
      }
      if (spec !== '@app/storage' || !node.specifiers) return;
      for (const s of node.specifiers) {
        // import { X } / import { X as Y } reads `imported`; export { X } from reads `local`.
        const ref =
          s.type === 'ImportSpecifier' ? s.imported : s.type === 'ExportSpecifier' ? s.local : null;
        const name = ref && nameOf(ref);
        if (name && EVENT_STORE_NAMES.has(name))
          context.report({ node: s, messageId: 'name', data: { name } });
      }
    });
  },
);

// e. The production build and the Docker image take apps/ and libs/ only,
// without specs and `testing/` helpers (README.md, "Layout"). Production code
// in libs/ that reached into apps/, test/, bench/ or the server control program
// would compile here and fail in the image; it also inverts the dependency
// direction (apps compose libs, never the reverse).
const OUTSIDE = ['apps', 'test', 'bench', 'tools'];
const SPEC_FILE = /\.(spec|int-spec|e2e-spec)\.ts$/;

const libsNoAppImports = rule(
  'libs/ (outside testing/ and specs) never imports apps, test, bench or @tools/stack',
  {
    outside:
      "'{{spec}}' from production code in libs/: {{to}} is not part of the production build.",
  },
  (context) => {
    const file = repoPath(context);
    if (!under(file, 'libs') || file.split('/').includes('testing') || SPEC_FILE.test(file))
      return {};
    return specifierVisitors((spec, _node, source) => {
      if (isPackage(spec, '@tools/stack')) {
        context.report({ node: source, messageId: 'outside', data: { spec, to: '@tools/stack' } });
        return;
      }
      const target = targetOf(file, spec);
      const top = target && target.split('/')[0];
      if (top && OUTSIDE.includes(top)) {
        context.report({ node: source, messageId: 'outside', data: { spec, to: `${top}/` } });
      }
    });
  },
);

module.exports = {
  meta: { name: 'boundaries' },
  rules: {
    'no-relative-cross-unit': noRelativeCrossUnit,
    'driver-in-adapter': driverInAdapter,
    'no-nest-in-pure-libs': noNestInPureLibs,
    'ingest-no-event-store': ingestNoEventStore,
    'libs-no-app-imports': libsNoAppImports,
  },
};
