// The data explorer at `/`, in a real headless Chromium (Debian's package, installed
// by ensureChromium on first use) driven by puppeteer-core: the page loads under its
// Content-Security-Policy without a violation, lists the collections and their schema,
// builds queries from the form, runs them through the public API with the key in the
// Authorization header only, and renders exactly the seeded counts in its table and
// in its chart (read back through the Chart.js instance and the canvas' data-series).
// Screenshots of both results go to a temporary folder; UPDATE_SCREENSHOTS=1 writes
// them to docs/img (the README's pictures) instead, so a plain run leaves the tree clean.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import puppeteer, { Browser, HTTPRequest, Page } from 'puppeteer-core';
import { ensureChromium } from '@tools/stack';
import { http } from '../support/http';
import { StandaloneServer } from '../support/standalone-server';

// Browser globals, used only inside page.evaluate callbacks (the repository compiles
// without the DOM lib); module-scoped, so nothing else sees them.
declare const window: any;
declare const document: any;
declare const sessionStorage: any;
declare const localStorage: any;

const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? path.resolve(__dirname, '../../docs/img')
    : fs.mkdtempSync(path.join(os.tmpdir(), 'tally-explorer-shots-'));
const TIMEZONE = 'Europe/Paris';
const DAYS = ['2024-03-01', '2024-03-02', '2024-03-03'];
/** Events per day (local to TIMEZONE) and country. */
const COUNTS: Record<string, Record<string, number>> = {
  '2024-03-01': { DE: 1, FR: 3, US: 2 },
  '2024-03-02': { DE: 4, FR: 1, US: 2 },
  '2024-03-03': { DE: 2, FR: 2, US: 5 },
};
const COUNTRIES = ['DE', 'FR', 'US'];

interface Visit {
  country: string;
  items: number;
  keen: { timestamp: string };
}

/** Every visit at 10:00 local time (09:00Z in March) plus a minute per event: inside its day. */
function seedVisits(): Visit[] {
  const visits: Visit[] = [];
  for (const day of DAYS) {
    let minute = 0;
    for (const country of COUNTRIES) {
      for (let i = 0; i < COUNTS[day][country]; i++) {
        const timestamp = new Date(Date.parse(`${day}T09:00:00.000Z`) + minute++ * 60_000);
        visits.push({ country, items: (i % 3) + 1, keen: { timestamp: timestamp.toISOString() } });
      }
    }
  }
  return visits;
}

/** Midnight of `day` in Paris (UTC+1 in early March), as the API writes bucket edges. */
function parisMidnight(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - 3600_000).toISOString();
}

describe('data explorer in headless Chromium', () => {
  jest.setTimeout(60_000);
  const server = new StandaloneServer();
  const visits = seedVisits();
  let browser: Browser;
  let page: Page;
  let readKey: string;
  /** Every request the page made, with the headers it sent. */
  const requests: { url: string; method: string; authorization?: string }[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const executablePath = ensureChromium();
    await server.start();
    readKey = server.keys!.read_key;
    const seeded = await http('POST', `${server.url}/3.0/projects/default/events`, {
      key: server.keys!.write_key,
      body: {
        visits,
        signups: [{ plan: 'pro', keen: { timestamp: '2024-03-01T12:00:00.000Z' } }],
      },
    });
    expect(seeded.status).toBe(200);
    expect(seeded.body).toEqual({
      visits: visits.map(() => ({ success: true })),
      signups: [{ success: true }],
    });

    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      // Root on a CI machine: Chromium's sandbox needs user namespaces it may not have.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--lang=en-US'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    page.on('request', (req: HTTPRequest) =>
      requests.push({
        url: req.url(),
        method: req.method(),
        authorization: req.headers().authorization,
      }),
    );
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    // CSP violations (a blocked script, style or request) are reported on the document.
    await page.evaluateOnNewDocument(() => {
      (window as any).__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e: any) =>
        (window as any).__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server.stop();
    server.remove();
    if (process.env.UPDATE_SCREENSHOTS !== '1')
      fs.rmSync(SCREENSHOTS, { recursive: true, force: true });
  });

  /** Sets a form field as typing would and fires its input and change events. */
  async function fill(selector: string, value: string): Promise<void> {
    await page.$eval(
      selector,
      (el, v) => {
        (el as any).value = v as string;
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
      },
      value,
    );
  }

  /** Submits the query form and waits for the page to show a result or an error. */
  async function run(): Promise<string> {
    await page.$eval('#output', (el) => el.removeAttribute('data-state'));
    await page.click('#run');
    await page.waitForSelector('#output[data-state="done"], #output[data-state="error"]');
    return page.$eval('#output', (el) => (el as any).dataset.state!);
  }

  async function tableRows(selector: string): Promise<string[][]> {
    return page.$$eval(`${selector} tbody tr`, (rows) =>
      rows.map((row) => [...(row as any).cells].map((cell) => cell.textContent ?? '')),
    );
  }

  async function tableHeaders(): Promise<string[]> {
    return page.$$eval('#result-table thead th', (cells) => cells.map((c) => c.textContent ?? ''));
  }

  /** The chart as Chart.js holds it, and as the canvas' data-series attribute exposes it. */
  async function chart() {
    return page.evaluate(() => {
      const canvas = document.getElementById('chart') as any;
      const instance = (window as any).Chart.getChart(canvas);
      return {
        type: instance.config.type as string,
        labels: instance.data.labels as string[],
        datasets: (instance.data.datasets as { label: string; data: (number | null)[] }[]).map(
          (d) => ({
            label: d.label,
            data: d.data,
          }),
        ),
        series: JSON.parse(canvas.dataset.series!),
      };
    });
  }

  it('loads under its CSP and lists the collections with their schema', async () => {
    const response = await page.goto(`${server.url}/`, { waitUntil: 'networkidle0' });
    expect(response!.status()).toBe(200);
    const csp = response!.headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');

    await page.type('#project-id', 'default');
    await page.type('#read-key', readKey);
    await page.click('#connect');
    await page.waitForSelector('#output[data-state="collections"], #output[data-state="error"]');
    expect(await page.$eval('#status', (el) => el.textContent)).toBe('2 collections.');
    expect(await page.$$eval('#collection option', (os) => os.map((o) => o.textContent))).toEqual([
      'signups',
      'visits',
    ]);
    await page.select('#collection', 'visits');

    // The schema table is the API's schema of the collection, property by property.
    const schema = await http('GET', `${server.url}/3.0/projects/default/events/visits`, {
      key: readKey,
    });
    expect(schema.status).toBe(200);
    const expected = Object.entries(schema.body.properties as Record<string, string>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, type]) => [name, type]);
    expect(await tableRows('#schema-table')).toEqual(expected);
    expect(expected.filter(([name]) => !name.startsWith('keen.'))).toEqual([
      ['country', 'string'],
      ['items', 'num'],
    ]);

    // The key is in this tab's sessionStorage only, never in the URL or localStorage.
    expect(await page.evaluate(() => sessionStorage.getItem('tally.explorer.key'))).toBe(readKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).toBe(`${server.url}/`);
  });

  it('count by country per day: table and line chart equal the seeded counts', async () => {
    await page.select('#analysis-type', 'count');
    await page.select('#timeframe-kind', 'absolute');
    await fill('#absolute-start', '2024-03-01T00:00:00.000+01:00');
    await fill('#absolute-end', '2024-03-04T00:00:00.000+01:00');
    await fill('#timezone', TIMEZONE);
    await page.select('#interval', 'daily');
    await fill('#group-by', 'country');
    expect(await run()).toBe('done');

    expect(await tableHeaders()).toEqual(['start', 'end', 'country', 'result']);
    const expectedRows = DAYS.flatMap((day, i) =>
      COUNTRIES.map((country) => [
        parisMidnight(day),
        parisMidnight(DAYS[i + 1] ?? '2024-03-04'),
        country,
        String(COUNTS[day][country]),
      ]),
    );
    const rows = await tableRows('#result-table');
    const byBucketAndCountry = (a: string[], b: string[]) =>
      a[0] === b[0] ? (a[2] < b[2] ? -1 : 1) : a[0] < b[0] ? -1 : 1;
    expect([...rows].sort(byBucketAndCountry)).toEqual(expectedRows);

    const drawn = await chart();
    const expectedSeries = COUNTRIES.map((country) => ({
      label: country,
      data: DAYS.map((day) => COUNTS[day][country]),
    }));
    expect(drawn.type).toBe('line');
    expect(drawn.labels).toEqual(DAYS);
    expect([...drawn.datasets].sort((a, b) => (a.label < b.label ? -1 : 1))).toEqual(
      expectedSeries,
    );
    expect(drawn.series.kind).toBe('line');
    expect(drawn.series.labels).toEqual(DAYS);
    expect(drawn.series.datasets).toEqual(drawn.datasets);

    // The snippets carry the very body the page sent, and no key.
    const body = {
      event_collection: 'visits',
      timeframe: { start: '2024-03-01T00:00:00.000+01:00', end: '2024-03-04T00:00:00.000+01:00' },
      timezone: TIMEZONE,
      interval: 'daily',
      group_by: 'country',
    };
    const curl = await page.$eval('#curl-command', (el) => el.textContent!);
    expect(curl).toBe(
      [
        `curl -X POST '${server.url}/3.0/projects/default/queries/count'`,
        `  -H "Authorization: $TALLY_READ_KEY"`,
        `  -H 'Content-Type: application/json'`,
        `  -d '${JSON.stringify(body)}'`,
      ].join(' \\\n'),
    );
    const js = await page.$eval('#js-command', (el) => el.textContent!);
    expect(js).toContain(
      `const { result } = await client.query("count", ${JSON.stringify(body, null, 2)});`,
    );
    expect(js).toContain('projectId: "default"');
    expect(`${curl}\n${js}`).not.toContain(readKey);

    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({
      path: path.join(SCREENSHOTS, 'explorer-interval.png'),
      fullPage: true,
    });
  });

  it('filters (a string and a number) with group_by: table and bar chart equal the seeded counts', async () => {
    await page.select('#interval', '');
    await page.click('#add-filter');
    await page.click('#add-filter');
    const row = (n: number, field: string) => `#filters .filter:nth-child(${n}) .filter-${field}`;
    await fill(row(1, 'property'), 'country');
    await page.select(row(1, 'operator'), 'ne');
    await fill(row(1, 'value'), 'DE');
    await fill(row(2, 'property'), 'items');
    await page.select(row(2, 'operator'), 'gte');
    await page.select(row(2, 'type'), 'number');
    await fill(row(2, 'value'), '2');
    expect(await run()).toBe('done');

    const expected = new Map<string, number>();
    for (const v of visits) {
      if (v.country !== 'DE' && v.items >= 2)
        expected.set(v.country, (expected.get(v.country) ?? 0) + 1);
    }
    // FR: 3, 1, 2 visits a day give items 1,2,3 | 1 | 1,2 → 3; US: 2, 2, 5 → 1 + 1 + 3 = 5.
    expect(Object.fromEntries(expected)).toEqual({ FR: 3, US: 5 });
    expect(await tableHeaders()).toEqual(['country', 'result']);
    const rows = await tableRows('#result-table');
    expect([...rows].sort((a, b) => (a[0] < b[0] ? -1 : 1))).toEqual([
      ['FR', '3'],
      ['US', '5'],
    ]);
    const drawn = await chart();
    expect(drawn.type).toBe('bar');
    expect(drawn.datasets.length).toBe(1);
    const bars = Object.fromEntries(
      drawn.labels.map((label, i) => [label, drawn.datasets[0].data[i]]),
    );
    expect(bars).toEqual({ FR: 3, US: 5 });
    expect(drawn.series.labels).toEqual(drawn.labels);
    expect(drawn.series.datasets).toEqual(drawn.datasets);

    const shot = path.join(SCREENSHOTS, 'explorer-filters.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
  });

  it("shows the API's error message and error_code", async () => {
    await page.select('#analysis-type', 'sum');
    await fill('#target-property', '');
    expect(await run()).toBe('error');
    // The same body as the page sent, straight to the API.
    const direct = await http('POST', `${server.url}/3.0/projects/default/queries/sum`, {
      key: readKey,
      body: {
        event_collection: 'visits',
        filters: [
          { property_name: 'country', operator: 'ne', property_value: 'DE' },
          { property_name: 'items', operator: 'gte', property_value: 2 },
        ],
        timeframe: { start: '2024-03-01T00:00:00.000+01:00', end: '2024-03-04T00:00:00.000+01:00' },
        timezone: TIMEZONE,
        group_by: 'country',
      },
    });
    expect(direct.status).toBe(400);
    expect(await page.$eval('#error-code', (el) => el.textContent)).toBe(direct.body.error_code);
    expect(await page.$eval('#error-message', (el) => el.textContent)).toBe(direct.body.message);
    expect(await page.$eval('#error', (el) => (el as any).hidden)).toBe(false);
  });

  it('sent the key only in the Authorization header of same-origin API calls; no CSP violation, no page error', async () => {
    const api = requests.filter((r) => r.url.startsWith(`${server.url}/3.0/`));
    expect(api.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'GET /3.0/projects/default/events',
      'POST /3.0/projects/default/queries/count',
      'POST /3.0/projects/default/queries/count',
      'POST /3.0/projects/default/queries/sum',
    ]);
    expect(api.every((r) => r.authorization === readKey)).toBe(true);
    const others = requests.filter((r) => !r.url.startsWith(`${server.url}/3.0/`));
    expect(others.every((r) => r.method === 'GET' && r.authorization === undefined)).toBe(true);
    expect(others.map((r) => new URL(r.url).pathname).sort()).toEqual([
      '/',
      '/explorer/chart.umd.min.js',
      '/explorer/explorer.css',
      '/explorer/explorer.js',
    ]);
    expect(requests.filter((r) => r.url.includes(readKey))).toEqual([]);
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
    // The one console error is the browser's report of the failed sum (400), not a script error.
    expect(pageErrors.filter((e) => !e.includes('400'))).toEqual([]);
  });
});
