// The image is built from the files the Dockerfile's build stage copies, not from the
// checkout: a production source that imports a file left out of the image (test/, a
// benchmark helper) compiles in the checkout and fails only in `docker build` (TS2307).
// This spec rebuilds the production tree from exactly those files, in a temporary
// directory, without a Docker engine: it reads the build stage's COPY instructions,
// copies what they name (minus .dockerignore), links node_modules (the stage's
// `npm ci`) and runs the stage's `npm run build` there.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** One COPY (or ADD) from the build context: sources relative to the context, dest as written. */
export interface ContextCopy {
  sources: string[];
  dest: string;
  /** WORKDIR in force when the instruction runs (absolute, in the image). */
  workdir: string;
}

export interface BuildStage {
  copies: ContextCopy[];
  /** WORKDIR in force when the stage runs `npm run build`. */
  buildWorkdir: string;
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function instructions(dockerfile: string): { keyword: string; args: string }[] {
  const out: { keyword: string; args: string }[] = [];
  let pending = '';
  for (const raw of dockerfile.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(whole);
    if (match) out.push({ keyword: match[1].toUpperCase(), args: match[2] });
  }
  if (pending.trim()) throw new Error(`Dockerfile ends inside a continued line: ${pending}`);
  return out;
}

/** COPY/ADD arguments: flags first, then sources and a destination, in shell or JSON form. */
function copyArgs(args: string): { flags: string[]; paths: string[] } {
  const words: string[] = [];
  let rest = args.trim();
  const flags: string[] = [];
  while (rest.startsWith('--')) {
    const match = /^(\S+)\s*(.*)$/.exec(rest)!;
    flags.push(match[1]);
    rest = match[2];
  }
  if (rest.startsWith('[')) words.push(...(JSON.parse(rest) as string[]));
  else words.push(...rest.split(/\s+/).filter(Boolean));
  return { flags, paths: words };
}

/**
 * The stage that runs `npm run build`: the files it copies from the build context
 * and its working directory. Copies from another stage or image (`--from=`) are not
 * the context's and are left out.
 */
export function buildStageOf(dockerfile: string): BuildStage {
  const stages: { copies: ContextCopy[]; workdir: string; buildWorkdir?: string }[] = [];
  for (const { keyword, args } of instructions(dockerfile)) {
    if (keyword === 'FROM') {
      stages.push({ copies: [], workdir: '/' });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) continue; // ARG before the first FROM
    if (keyword === 'WORKDIR') {
      stage.workdir = path.posix.resolve(stage.workdir, args.trim());
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      const { flags, paths } = copyArgs(args);
      if (flags.some((f) => f.startsWith('--from'))) continue;
      if (paths.length < 2) throw new Error(`${keyword} needs a source and a destination: ${args}`);
      stage.copies.push({
        sources: paths.slice(0, -1),
        dest: paths[paths.length - 1],
        workdir: stage.workdir,
      });
    } else if (keyword === 'RUN' && /\bnpm run build\b/.test(args)) {
      stage.buildWorkdir ??= stage.workdir;
    }
  }
  const build = stages.find((s) => s.buildWorkdir !== undefined);
  if (!build) throw new Error('no stage of the Dockerfile runs `npm run build`');
  return { copies: build.copies, buildWorkdir: build.buildWorkdir! };
}

/** A .dockerignore pattern as a regular expression over context-relative paths. */
function ignoreRegExp(pattern: string): RegExp {
  const clean = path.posix.normalize(pattern.replace(/^\/+/, '')).replace(/\/+$/, '');
  let source = '';
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i];
    if (c === '*' && clean[i + 1] === '*') {
      // `**` spans any number of directories, `**/` none or more.
      source += clean[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += clean[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Whether .dockerignore keeps `rel` out of the context (a match on a parent folder counts). */
export function dockerIgnores(patterns: string[], rel: string): boolean {
  const parts = rel.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const line of patterns) {
    const negate = line.startsWith('!');
    const re = ignoreRegExp(negate ? line.slice(1) : line);
    if (candidates.some((c) => re.test(c))) ignored = !negate;
  }
  return ignored;
}

function readIgnore(context: string): string[] {
  const file = path.join(context, '.dockerignore');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Context paths a COPY source names (a `*`/`?` pattern in its last segment is expanded). */
function expandSource(context: string, source: string): string[] {
  const rel = path.posix.normalize(source.replace(/^\/+/, ''));
  const base = path.posix.basename(rel);
  if (!/[*?[]/.test(base)) return [rel];
  const dir = path.posix.dirname(rel);
  const re = ignoreRegExp(base);
  return fs
    .readdirSync(path.join(context, dir))
    .filter((name) => re.test(name))
    .map((name) => path.posix.join(dir, name));
}

/** Copies `rel` (context-relative) to `target`, Docker-style: a folder's contents, minus ignored paths. */
function copyTree(context: string, rel: string, target: string, ignore: string[]): string[] {
  if (dockerIgnores(ignore, rel)) return [];
  const from = path.join(context, rel);
  const stat = fs.statSync(from);
  if (!stat.isDirectory()) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(from, target);
    return [rel];
  }
  fs.mkdirSync(target, { recursive: true });
  return fs
    .readdirSync(from)
    .flatMap((name) =>
      copyTree(context, rel === '.' ? name : `${rel}/${name}`, path.join(target, name), ignore),
    );
}

/**
 * Lays out in `dir` what the build stage has in its working directory before
 * `npm run build`: every context COPY, placed as Docker places it. Returns the
 * context paths copied.
 */
export function layOutBuildTree(context: string, dockerfile: string, dir: string): string[] {
  const stage = buildStageOf(dockerfile);
  const ignore = readIgnore(context);
  const copied: string[] = [];
  for (const copy of stage.copies) {
    const sources = copy.sources.flatMap((s) => expandSource(context, s));
    if (sources.length === 0) throw new Error(`COPY ${copy.sources.join(' ')}: nothing matches`);
    const destInImage = path.posix.resolve(copy.workdir, copy.dest);
    const destRel = path.posix.relative(stage.buildWorkdir, destInImage);
    if (destRel.startsWith('..')) {
      throw new Error(
        `COPY to ${destInImage} is outside the build's WORKDIR ${stage.buildWorkdir}`,
      );
    }
    const dest = path.join(dir, destRel);
    const intoFolder = sources.length > 1 || copy.dest.endsWith('/');
    for (const source of sources) {
      if (!fs.existsSync(path.join(context, source))) {
        throw new Error(`COPY ${source}: not in the build context`);
      }
      const isDir = fs.statSync(path.join(context, source)).isDirectory();
      const target = isDir || !intoFolder ? dest : path.join(dest, path.posix.basename(source));
      copied.push(...copyTree(context, source, target, ignore));
    }
  }
  return copied;
}

function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe('the Dockerfile build stage, parsed', () => {
  const dockerfile = [
    'ARG X=1',
    'FROM node:20 AS deps',
    'COPY nothing ./',
    'FROM node:20 AS build',
    'WORKDIR /app',
    '# a comment',
    'COPY package.json \\',
    '     package-lock.json ./',
    'COPY --chown=node:node ["apps", "./apps"]',
    'COPY --from=deps /x ./x',
    'WORKDIR sub',
    'COPY libs ../libs',
    'WORKDIR /app',
    'RUN npm run build && npm prune --omit=dev',
    'FROM node:20 AS runtime',
    'COPY --from=build /app/dist ./dist',
    'COPY later ./',
  ].join('\n');

  it('takes the context copies of the stage that runs npm run build, with their WORKDIR', () => {
    expect(buildStageOf(dockerfile)).toEqual({
      buildWorkdir: '/app',
      copies: [
        { sources: ['package.json', 'package-lock.json'], dest: './', workdir: '/app' },
        { sources: ['apps'], dest: './apps', workdir: '/app' },
        { sources: ['libs'], dest: '../libs', workdir: '/app/sub' },
      ],
    });
  });

  it('reads .dockerignore patterns as Docker does (anchored at the root, ** for any depth, ! to keep)', () => {
    const ignore = ['node_modules', '*.log', '**/*.tmp', 'docs/**', '!docs/keep.md'];
    expect(dockerIgnores(ignore, 'node_modules/x/index.js')).toBe(true);
    expect(dockerIgnores(ignore, 'npm.log')).toBe(true);
    expect(dockerIgnores(ignore, 'libs/npm.log')).toBe(false);
    expect(dockerIgnores(ignore, 'libs/a/b.tmp')).toBe(true);
    expect(dockerIgnores(ignore, 'docs/a.md')).toBe(true);
    expect(dockerIgnores(ignore, 'docs/keep.md')).toBe(false);
    expect(dockerIgnores(ignore, 'libs/x.ts')).toBe(false);
  });
});

describe('the production build from exactly the files the Dockerfile copies', () => {
  // A full TypeScript build of the production tree; slow on a busy machine.
  jest.setTimeout(15 * 60_000);
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-docker-build-tree-'));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles, with an entry point for every app', async () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const copied = layOutBuildTree(ROOT, dockerfile, dir);
    expect(copied).toContain('package.json');
    // The stage's `npm ci`, without installing again.
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');

    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const { code, output } = await run(npm, ['run', 'build', '--silent'], dir);
    if (code !== 0) {
      const tops = [...new Set(copied.map((p) => p.split('/')[0]))].sort();
      throw new Error(
        `npm run build failed (exit ${code}) in a tree made of the Dockerfile's build-stage ` +
          `COPY sources (${tops.join(', ')}):\n${output}`,
      );
    }

    // Every app the image can run (APP=<name>) has its entry point in dist.
    const apps = fs.readdirSync(path.join(dir, 'apps'));
    expect(apps.length).toBeGreaterThan(0);
    const missing = apps.filter(
      (app) => !fs.existsSync(path.join(dir, 'dist', 'apps', app, 'src', 'main.js')),
    );
    expect(missing).toEqual([]);

    // Nothing test-only was compiled into the image: specs, test helpers, testing folders.
    const emitted: string[] = [];
    const walk = (rel: string) => {
      for (const entry of fs.readdirSync(path.join(dir, 'dist', rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(child);
        else if (child.endsWith('.js')) emitted.push(child);
      }
    };
    walk('');
    expect(
      emitted.filter((f) => /(^|\/)(test|testing|bench)\/|\.(int-|e2e-)?spec\.js$/.test(f)),
    ).toEqual([]);
  });

  it('has the data explorer page next to its compiled module, and Chart.js as a production dependency', () => {
    // `npm run build` copies the page's files (tsc emits only .js); the runtime stage
    // takes dist/ and node_modules after `npm prune --omit=dev`, so chart.js must be a dependency.
    const assets = path.join(dir, 'dist', 'libs', 'api', 'src', 'explorer', 'assets');
    const source = path.join(ROOT, 'libs', 'api', 'src', 'explorer', 'assets');
    expect(fs.readdirSync(assets).sort()).toEqual(fs.readdirSync(source).sort());
    for (const name of fs.readdirSync(source)) {
      expect(fs.readFileSync(path.join(assets, name))).toEqual(
        fs.readFileSync(path.join(source, name)),
      );
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toContain('chart.js');

    // The compiled controller, loaded from the built tree, serves every file the page names.
    require('reflect-metadata');
    const explorer = require(
      path.join(dir, 'dist', 'libs', 'api', 'src', 'explorer', 'explorer.controller.js'),
    );
    expect(explorer.EXPLORER_ASSETS_DIR).toBe(assets);
    const controller = new explorer.ExplorerController();
    const served = (file: string): { status: number; type: string; length: number } => {
      const reply: any = { headers: {} as Record<string, string> };
      reply.status = (code: number) => ((reply.code = code), reply);
      reply.header = (name: string, value: string) => ((reply.headers[name] = value), reply);
      reply.send = (body: Buffer) => (reply.body = body);
      if (file === '/') controller.index(reply);
      else controller.file(file.replace('/explorer/', ''), reply);
      return { status: reply.code, type: reply.headers['content-type'], length: reply.body.length };
    };
    const html = fs.readFileSync(path.join(assets, 'index.html'), 'utf8');
    const named = [...html.matchAll(/(?:src|href)="(\/explorer\/[^"]+)"/g)].map((m) => m[1]).sort();
    expect(named).toEqual([
      '/explorer/chart.umd.min.js',
      '/explorer/explorer.css',
      '/explorer/explorer.js',
    ]);
    for (const file of ['/', ...named]) {
      const answer = served(file);
      const type = file === '/' ? 'html' : file.endsWith('.css') ? 'css' : 'javascript';
      expect({
        file,
        status: answer.status,
        type: answer.type,
        empty: answer.length === 0,
      }).toEqual({
        file,
        status: 200,
        type: `text/${type}; charset=utf-8`,
        empty: false,
      });
    }
  });
});
