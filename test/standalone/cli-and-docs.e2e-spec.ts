import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { CLI_MAIN, StandaloneServer } from '../support/standalone-server';

const run = promisify(execFile);

describe('standalone: CLI and API description', () => {
  const server = new StandaloneServer(undefined, { KEY_CACHE_REFRESH_MS: '200', BEACON_REDIRECT_HOSTS: 'example.com' });

  beforeAll(() => server.start());
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('creates a project whose keys the running server accepts within the cache refresh', async () => {
    const { stdout } = await run(process.execPath, [CLI_MAIN, 'projects', 'create', 'shop', '--json'], {
      env: { ...process.env, DATA_DIR: server.dataDir, TALLY_STACK_FILE: '/nonexistent/stack.json' },
    });
    const created = JSON.parse(stdout);
    expect(Object.keys(created).sort()).toEqual(['id', 'master_key', 'read_key', 'write_key']);
    expect(created.write_key).toMatch(/^[0-9a-f]{64}$/);

    let status = 0;
    for (let attempt = 0; attempt < 30 && status !== 201; attempt++) {
      status = (await http('POST', `${server.url}/3.0/projects/${created.id}/events/signups`, {
        body: { plan: 'pro' },
        key: created.write_key,
      })).status;
      if (status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(201);
    const contents = new SqliteContents(server.dataDir);
    expect(contents.events(created.id, 'signups').map((e) => e.event.plan)).toEqual(['pro']);
    // Tenant scoping: the default project does not see the new project's events.
    expect(contents.events('default', 'signups')).toEqual([]);
    contents.close();

    const list = await run(process.execPath, [CLI_MAIN, 'projects', 'list', '--json'], {
      env: { ...process.env, DATA_DIR: server.dataDir, TALLY_STACK_FILE: '/nonexistent/stack.json' },
    });
    expect(JSON.parse(list.stdout).map((p: { id: string }) => p.id).sort()).toEqual([created.id, 'default'].sort());
  });

  it('serves an OpenAPI document describing the Keen routes, and a docs page', async () => {
    const doc = await http('GET', `${server.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/3.0/projects/{projectId}/events/{collection}',
        '/3.0/projects/{projectId}/events',
        '/3.0/projects/{projectId}/queries/{analysis}',
      ]),
    );
    expect(doc.body.paths['/3.0/projects/{projectId}/events/{collection}'].post).toBeDefined();
    const page = await http('GET', `${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger');
  });

  it('accepts a beacon: GET with base64 data answers a GIF, with redirect a 302', async () => {
    const key = server.keys!.write_key;
    const data = Buffer.from(JSON.stringify({ page: '/landing', ref: 'mail' })).toString('base64');
    const gif = await fetch(`${server.url}/3.0/projects/default/events/pageviews?api_key=${key}&data=${encodeURIComponent(data)}`);
    expect(gif.status).toBe(200);
    expect(gif.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await gif.arrayBuffer()).subarray(0, 6).toString()).toBe('GIF89a');
    const redirect = await http(
      'GET',
      `${server.url}/3.0/projects/default/events/pageviews?api_key=${key}&data=${encodeURIComponent(data)}&redirect=${encodeURIComponent('https://example.com/next')}`,
    );
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('https://example.com/next');
    // sendBeacon: a batch POSTed as text/plain with the key in the URL.
    const beacon = await http('POST', `${server.url}/3.0/projects/default/events?api_key=${key}`, {
      raw: JSON.stringify({ pageviews: [{ page: '/beacon' }] }),
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    expect(beacon.status).toBe(200);
    const contents = new SqliteContents(server.dataDir);
    expect(contents.events('default', 'pageviews').map((e) => e.event.page).sort()).toEqual(['/beacon', '/landing', '/landing']);
    contents.close();
  });

  it('deletes from the CLI, with a dry run that only counts', async () => {
    const key = server.keys!.write_key;
    const res = await http('POST', `${server.url}/3.0/projects/default/events`, {
      body: { cli_deletes: Array.from({ length: 30 }, (_, i) => ({ i, odd: i % 2 === 1 })) },
      key,
    });
    expect(res.status).toBe(200);
    const env = { ...process.env, DATA_DIR: server.dataDir, TALLY_STACK_FILE: '/nonexistent/stack.json' };
    const filters = JSON.stringify([{ property_name: 'odd', operator: 'eq', property_value: true }]);
    const dry = await run(process.execPath, [CLI_MAIN, 'delete', 'default', 'cli_deletes', '--filters', filters, '--dry-run', '--json'], { env });
    expect(JSON.parse(dry.stdout)).toEqual({ scanned: 30, deleted: 15 });
    let contents = new SqliteContents(server.dataDir);
    expect(contents.events('default', 'cli_deletes')).toHaveLength(30);
    contents.close();
    const real = await run(process.execPath, [CLI_MAIN, 'delete', 'default', 'cli_deletes', '--filters', filters, '--json'], { env });
    expect(JSON.parse(real.stdout)).toEqual({ scanned: 30, deleted: 15 });
    contents = new SqliteContents(server.dataDir);
    const left = contents.events('default', 'cli_deletes').map((e) => e.event.i as number);
    expect(left.sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, k) => k * 2));
    expect(contents.counters('default')).toEqual(contents.recount('default'));
    contents.close();
    const recount = await run(process.execPath, [CLI_MAIN, 'schema', 'recount', 'default', 'cli_deletes', '--json'], { env });
    expect(JSON.parse(recount.stdout)).toEqual({ events: 15, corrected: 0 });
  });
});
