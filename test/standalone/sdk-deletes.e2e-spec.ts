import * as http from 'node:http';
import { StandaloneServer } from '../support/standalone-server';
import {
  emptyJsonDelete,
  ensurePythonKeen,
  keenAnalysisFor,
  nodeSdkDeletes,
  pythonSdkDeletes,
  SdkTarget,
  sdkDeleteEvents,
  writeBatch,
} from '../support/sdk-deletes';
import { http as request } from '../support/http';

/** Methods that carry no body: a JSON content type with nothing after it is normal for them. */
const BODYLESS = ['GET', 'HEAD', 'OPTIONS', 'DELETE'] as const;

/** A value for each path parameter the OpenAPI document names. */
const PARAMS: Record<string, string> = {
  projectId: 'default',
  collection: 'sdk_empty',
  property: 'gone',
  analysis: 'count',
  jobId: 'no-such-job',
  file: 'app.js',
};

/** One request as both SDKs send it: JSON content type, and no body at all or an empty chunked one. */
function bodyless(
  url: string,
  method: string,
  key: string,
  chunked: boolean,
  raw?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: key, 'content-type': 'application/json' };
    if (chunked) headers['transfer-encoding'] = 'chunked';
    // node:http frames a GET body only when told its length.
    else if (raw !== undefined) headers['content-length'] = String(Buffer.byteLength(raw));
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(raw);
  });
}

/**
 * Acceptance: deletes through unmodified keen-analysis and the Python keen
 * client remove exactly the expected events, and no route refuses the empty
 * JSON-typed bodies those clients send with methods that carry no body.
 */
describe('SDK deletes and bodyless requests (standalone)', () => {
  const server = new StandaloneServer();
  let target: SdkTarget;

  beforeAll(async () => {
    ensurePythonKeen();
    await server.start();
    target = { port: server.port, keys: server.keys! };
  }, 180_000);

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('keen-analysis del(): by filter, by keen.id and by a relative timeframe', async () => {
    const events = sdkDeleteEvents();
    await writeBatch(target, 'sdk_node', events);
    await nodeSdkDeletes(target, 'sdk_node', events);
  });

  it('Python delete_events(): by filter, by keen.id and by an absolute timeframe', async () => {
    await pythonSdkDeletes(target, 'sdk_py', sdkDeleteEvents());
  }, 60_000);

  it('GET /3.0/projects/:id through keen-analysis: the project with the collections that hold events', async () => {
    await writeBatch(target, 'sdk_project', sdkDeleteEvents());
    const { analysis, restore } = keenAnalysisFor(target);
    try {
      const project = await analysis.get({ url: analysis.url('projectId'), api_key: target.keys.master_key });
      const base = '/3.0/projects/default';
      expect(project).toMatchObject({
        id: 'default',
        name: 'default',
        url: base,
        events_url: `${base}/events`,
        queries_url: `${base}/queries`,
        saved_queries: [],
      });
      const schema = await request('GET', `${server.url}${base}/events`, { key: target.keys.read_key });
      const withEvents = (schema.body as Array<{ name: string }>).map((c) => c.name).sort();
      expect(withEvents).toContain('sdk_project');
      expect(project.events).toEqual(withEvents.map((name) => ({ name, url: `${base}/events/${name}` })));
      // Master key only, as Keen: the SDK rejects with the error code.
      const { analysis: readOnly, restore: restoreReadOnly } = keenAnalysisFor(target);
      try {
        await expect(readOnly.get({ url: readOnly.url('projectId'), api_key: target.keys.read_key })).rejects.toMatchObject({
          code: 'AdminOnlyEndpointError',
        });
      } finally {
        restoreReadOnly();
      }
      const queries = await analysis.get({ url: analysis.url('queries'), api_key: target.keys.read_key });
      expect(queries.count_url).toBe(`${base}/queries/count`);
      expect(queries.extraction_url).toBe(`${base}/queries/extraction`);
      expect(queries.funnel_url).toBe(`${base}/queries/funnel`);
    } finally {
      restore();
    }
  });

  it('every route answers GET, HEAD, OPTIONS and DELETE with a JSON content type and no body without a body error', async () => {
    await writeBatch(target, 'sdk_empty', sdkDeleteEvents());
    const doc = await request('GET', `${server.url}/openapi.json`);
    const paths = Object.keys(doc.body.paths as Record<string, unknown>);
    expect(paths).toEqual(expect.arrayContaining(['/3.0/projects/{projectId}', '/3.0/projects/{projectId}/events/{collection}']));
    const answers: string[] = [];
    for (const template of paths) {
      const url = server.url + template.replace(/\{(\w+)\}/g, (_, name: string) => PARAMS[name] ?? 'x');
      for (const method of BODYLESS) {
        for (const chunked of [false, true]) {
          const res = await bodyless(url, method, target.keys.master_key, chunked);
          const code = res.body ? (JSON.parse(res.body) as { error_code?: string }).error_code : undefined;
          answers.push(`${method} ${template}${chunked ? ' (chunked)' : ''}: ${res.status} ${code ?? ''}`);
          expect({ method, template, chunked, status: res.status < 500, code }).toEqual({
            method,
            template,
            chunked,
            status: true,
            code: res.status < 400 ? undefined : expect.not.stringMatching(/InvalidJson|InvalidRequest|UnsupportedMediaType/),
          });
        }
      }
    }
    // The collection delete went through (the empty body did not stop it).
    expect(answers).toContain('DELETE /3.0/projects/{projectId}/events/{collection}: 204 ');
    expect(await emptyJsonDelete(target, 'sdk_empty')).toBe(204);
    const left = await request('GET', `${server.url}/3.0/projects/default/queries/count?event_collection=sdk_empty`, {
      key: target.keys.read_key,
    });
    expect(left.body).toEqual({ result: 0 });
  });

  it('a blank body is no body for a method that takes none; a write still needs one', async () => {
    await writeBatch(target, 'sdk_blank', sdkDeleteEvents());
    const json = { 'content-type': 'application/json' };
    // fetch sends no body with GET; node:http does, as some clients do.
    const schema = await bodyless(`${server.url}/3.0/projects/default/events/sdk_blank`, 'GET', target.keys.read_key, false, ' \n');
    expect(schema.status).toBe(200);
    expect(JSON.parse(schema.body).properties).toMatchObject({ n: 'num', kind: 'string' });
    const del = await request('DELETE', `${server.url}/3.0/projects/default/events/sdk_blank`, {
      raw: '\r\n',
      key: target.keys.master_key,
      headers: json,
    });
    expect(del.status).toBe(204);
    expect(del.headers.get('x-tally-events-deleted')).toBe('12');
    const write = await request('POST', `${server.url}/3.0/projects/default/events/sdk_blank`, {
      raw: ' \n',
      key: target.keys.write_key,
      headers: json,
    });
    expect({ status: write.status, code: write.body.error_code }).toEqual({ status: 400, code: 'InvalidJsonError' });
  });
});
