// Tally data explorer: builds a Keen query, runs it through the public API and
// shows the result as a chart and a table. API data reaches the page only as
// text (textContent, form values, Chart.js labels drawn on a canvas), never as
// markup. The key lives in sessionStorage and goes only into the Authorization
// header of API requests: never into a URL, a log or the generated snippets.

const STORAGE = { project: 'tally.explorer.project', key: 'tally.explorer.key' };
const TARGETLESS = new Set(['count', 'extraction']);
const NO_GROUPING = new Set(['extraction']);
const PALETTE = [
  '#2f5fd0',
  '#d0622f',
  '#2f9d5a',
  '#8e44ad',
  '#c0392b',
  '#16a085',
  '#7f8c8d',
  '#d4a017',
];

const byId = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
};

/** An answer of the API that is an error: Keen's `{message, error_code}`. */
class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** A form value the page refuses before sending anything. */
class FormError extends ApiError {
  constructor(message) {
    super('Not sent', message);
  }
}

const state = { collections: [], chart: null };

function credentials() {
  return { project: byId('project-id').value.trim(), key: byId('read-key').value.trim() };
}

function projectPath(project) {
  return `/3.0/projects/${encodeURIComponent(project)}`;
}

/** One API call with the key in the Authorization header; Keen errors become ApiError. */
async function api(path, { method = 'GET', body } = {}) {
  const { key } = credentials();
  const headers = { Authorization: key, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError('NetworkError', 'The server could not be reached.');
  }
  let json = null;
  try {
    json = await response.json();
  } catch {
    // Not JSON: reported below from the status alone.
  }
  if (!response.ok || (json && typeof json === 'object' && 'error_code' in json)) {
    const code =
      json && typeof json.error_code === 'string' ? json.error_code : `HTTP ${response.status}`;
    const message = json && typeof json.message === 'string' ? json.message : response.statusText;
    throw new ApiError(code, message);
  }
  return json;
}

// ---- status and errors -------------------------------------------------------

function setState(value, text) {
  byId('output').dataset.state = value;
  byId('status').textContent = text;
}

function showError(error) {
  const known = error instanceof ApiError;
  byId('error-code').textContent = known ? error.code : 'Error';
  byId('error-message').textContent = known ? error.message : String(error && error.message);
  byId('error').hidden = false;
  setState('error', '');
}

function clearError() {
  byId('error').hidden = true;
  byId('error-code').textContent = '';
  byId('error-message').textContent = '';
}

// ---- collections and schema --------------------------------------------------

function typeText(type) {
  return Array.isArray(type) ? type.join(', ') : String(type);
}

function showSchema() {
  const name = byId('collection').value;
  const collection = state.collections.find((c) => c.name === name);
  const properties = collection ? Object.entries(collection.properties || {}) : [];
  properties.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const body = byId('schema-table').querySelector('tbody');
  body.replaceChildren();
  const names = byId('property-names');
  names.replaceChildren();
  for (const [property, type] of properties) {
    const row = body.insertRow();
    row.insertCell().textContent = property;
    row.insertCell().textContent = typeText(type);
    const option = document.createElement('option');
    option.value = property;
    names.append(option);
  }
  updateSnippets();
}

async function loadCollections() {
  const { project, key } = credentials();
  if (!project || !key) throw new FormError('Enter a project id and a read key.');
  sessionStorage.setItem(STORAGE.project, project);
  sessionStorage.setItem(STORAGE.key, key);
  clearError();
  setState('loading', 'Loading collections…');
  const list = await api(`${projectPath(project)}/events`);
  state.collections = Array.isArray(list) ? list : [];
  state.collections.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const select = byId('collection');
  const previous = select.value;
  select.replaceChildren();
  for (const collection of state.collections) {
    const option = document.createElement('option');
    option.value = collection.name;
    option.textContent = collection.name;
    select.append(option);
  }
  if (state.collections.some((c) => c.name === previous)) select.value = previous;
  showSchema();
  const count = state.collections.length;
  setState('collections', `${count} collection${count === 1 ? '' : 's'}.`);
}

// ---- the query ---------------------------------------------------------------

function filterValue(type, raw, property) {
  switch (type) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new FormError(`The filter on ${property} needs a number.`);
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false')
        throw new FormError(`The filter on ${property} needs true or false.`);
      return raw === 'true';
    case 'null':
      return null;
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        throw new FormError(`The filter on ${property} needs a JSON value, e.g. ["a", "b"].`);
      }
    default:
      return raw;
  }
}

function readFilters() {
  return [...byId('filters').querySelectorAll('.filter')].map((row) => {
    const property = row.querySelector('.filter-property').value.trim();
    if (!property) throw new FormError('A filter has no property.');
    return {
      property_name: property,
      operator: row.querySelector('.filter-operator').value,
      property_value: filterValue(
        row.querySelector('.filter-type').value,
        row.querySelector('.filter-value').value,
        property,
      ),
    };
  });
}

function readTimeframe() {
  const kind = byId('timeframe-kind').value;
  if (kind === 'relative') {
    const n = Number(byId('relative-count').value);
    if (!Number.isInteger(n) || n < 1)
      throw new FormError('The relative timeframe needs a whole number of units.');
    return `${byId('relative-period').value}_${n}_${byId('relative-unit').value}`;
  }
  if (kind === 'absolute') {
    const start = byId('absolute-start').value.trim();
    const end = byId('absolute-end').value.trim();
    if (!start || !end) throw new FormError('The absolute timeframe needs a start and an end.');
    return { start, end };
  }
  return undefined;
}

function readTimezone() {
  const raw = byId('timezone').value.trim();
  if (raw === '') return undefined;
  return /^[+-]?\d+$/.test(raw) ? Number(raw) : raw;
}

function readGroupBy() {
  const names = byId('group-by')
    .value.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) return undefined;
  return names.length === 1 ? names[0] : names;
}

/** The analysis type and the JSON body of `POST …/queries/<type>`, from the form. */
function buildQuery() {
  const type = byId('analysis-type').value;
  const collection = byId('collection').value;
  if (!collection) throw new FormError('Load the collections and pick one.');
  const body = { event_collection: collection };
  if (!TARGETLESS.has(type)) {
    const target = byId('target-property').value.trim();
    if (target) body.target_property = target;
  }
  if (type === 'percentile') body.percentile = Number(byId('percentile').value);
  const filters = readFilters();
  if (filters.length > 0) body.filters = filters;
  const timeframe = readTimeframe();
  if (timeframe !== undefined) body.timeframe = timeframe;
  const timezone = readTimezone();
  if (timezone !== undefined) body.timezone = timezone;
  if (!NO_GROUPING.has(type)) {
    const interval = byId('interval').value;
    if (interval) body.interval = interval;
    const groupBy = readGroupBy();
    if (groupBy !== undefined) body.group_by = groupBy;
  }
  return { type, body };
}

// ---- snippets ----------------------------------------------------------------

function shellQuote(text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function curlCommand({ type, body }, project) {
  const url = `${location.origin}${projectPath(project)}/queries/${type}`;
  return [
    `curl -X POST ${shellQuote(url)}`,
    `  -H "Authorization: $TALLY_READ_KEY"`,
    `  -H 'Content-Type: application/json'`,
    `  -d ${shellQuote(JSON.stringify(body))}`,
  ].join(' \\\n');
}

function jsCall({ type, body }, project) {
  return [
    "import KeenAnalysis from 'keen-analysis';",
    '',
    'const client = new KeenAnalysis({',
    `  projectId: ${JSON.stringify(project)},`,
    '  readKey: process.env.TALLY_READ_KEY,',
    `  host: ${JSON.stringify(location.host)},`,
    `  protocol: ${JSON.stringify(location.protocol.replace(':', ''))},`,
    '});',
    `const { result } = await client.query(${JSON.stringify(type)}, ${JSON.stringify(body, null, 2)});`,
  ].join('\n');
}

function updateSnippets() {
  let query;
  try {
    query = buildQuery();
  } catch {
    return; // an incomplete form: keep the last snippets
  }
  const { project } = credentials();
  byId('curl-command').textContent = curlCommand(query, project);
  byId('js-command').textContent = jsCall(query, project);
}

async function copySnippet(id, button) {
  const text = byId(id).textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard access (not a secure context): select the text for a manual copy.
    const range = document.createRange();
    range.selectNodeContents(byId(id));
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = label), 1200);
}

// ---- the result --------------------------------------------------------------

function valueText(value) {
  if (value === null || value === undefined) return '(null)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function groupNames(groupBy) {
  if (groupBy === undefined) return [];
  return Array.isArray(groupBy) ? groupBy : [groupBy];
}

function groupLabel(row, names) {
  return names.map((name) => valueText(row[name])).join(' / ');
}

/** A bucket's start as a date (and time below a day) in the query's timezone. */
function bucketLabel(iso, timezone, interval) {
  const subDay = /minut|hour/.test(interval);
  const options = { year: 'numeric', month: '2-digit', day: '2-digit' };
  if (subDay) Object.assign(options, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  let when = new Date(iso);
  let timeZone = 'UTC';
  if (typeof timezone === 'number') when = new Date(when.getTime() + timezone * 1000);
  else if (timezone) timeZone = timezone;
  try {
    return new Intl.DateTimeFormat('en-CA', { ...options, timeZone }).format(when);
  } catch {
    return iso;
  }
}

function numeric(value) {
  return typeof value === 'number' ? value : null;
}

function fillTable(headers, rows) {
  const table = byId('result-table');
  const head = table.querySelector('thead');
  const body = table.querySelector('tbody');
  head.replaceChildren();
  body.replaceChildren();
  const headRow = head.insertRow();
  for (const header of headers) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = header;
    headRow.append(th);
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const value of row) {
      const td = tr.insertCell();
      td.textContent = valueText(value);
      if (typeof value === 'number') td.className = 'num';
    }
  }
  table.hidden = false;
}

function drawChart(kind, labels, datasets) {
  const canvas = byId('chart');
  // The plotted series, readable by tests and tools without reaching into Chart.js.
  canvas.dataset.series = JSON.stringify({ kind, labels, datasets });
  byId('chart-box').hidden = false;
  if (typeof window.Chart !== 'function')
    throw new ApiError('ChartUnavailable', 'Chart.js did not load.');
  state.chart = new window.Chart(canvas, {
    type: kind,
    data: {
      labels,
      datasets: datasets.map((d, i) => ({
        label: d.label,
        data: d.data,
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        tension: 0,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true } },
      plugins: { legend: { display: datasets.length > 1 || datasets[0].label !== '' } },
    },
  });
}

function resetResult() {
  if (state.chart) state.chart.destroy();
  state.chart = null;
  delete byId('chart').dataset.series;
  byId('chart-box').hidden = true;
  byId('result-table').hidden = true;
  byId('single-value').hidden = true;
  byId('single-value').textContent = '';
}

function renderIntervals(result, body, names) {
  const labels = result.map((bucket) =>
    bucketLabel(bucket.timeframe.start, body.timezone, body.interval),
  );
  if (names.length === 0) {
    fillTable(
      ['start', 'end', 'result'],
      result.map((b) => [b.timeframe.start, b.timeframe.end, b.value]),
    );
    if (result.every((b) => b.value === null || typeof b.value === 'number')) {
      drawChart('line', labels, [{ label: '', data: result.map((b) => numeric(b.value)) }]);
    }
    return;
  }
  const rows = [];
  const series = new Map();
  result.forEach((bucket, i) => {
    for (const row of Array.isArray(bucket.value) ? bucket.value : []) {
      rows.push([
        bucket.timeframe.start,
        bucket.timeframe.end,
        ...names.map((n) => row[n]),
        row.result,
      ]);
      const label = groupLabel(row, names);
      if (!series.has(label)) series.set(label, new Array(result.length).fill(null));
      series.get(label)[i] = numeric(row.result);
    }
  });
  fillTable(['start', 'end', ...names, 'result'], rows);
  drawChart(
    'line',
    labels,
    [...series].map(([label, data]) => ({ label, data })),
  );
}

function renderGroups(result, names) {
  fillTable(
    [...names, 'result'],
    result.map((row) => [...names.map((n) => row[n]), row.result]),
  );
  if (result.every((row) => row.result === null || typeof row.result === 'number')) {
    drawChart(
      'bar',
      result.map((row) => groupLabel(row, names)),
      [{ label: '', data: result.map((row) => numeric(row.result)) }],
    );
  }
}

function renderResult({ type, body }, answer) {
  resetResult();
  const result = answer.result;
  const names = groupNames(body.group_by);
  if (type === 'extraction') {
    fillTable(
      ['event'],
      (Array.isArray(result) ? result : []).map((event) => [JSON.stringify(event)]),
    );
  } else if (body.interval && Array.isArray(result)) {
    renderIntervals(result, body, names);
  } else if (names.length > 0 && Array.isArray(result)) {
    renderGroups(result, names);
  } else if (Array.isArray(result)) {
    fillTable(
      ['value'],
      result.map((value) => [value]),
    );
  } else {
    byId('single-value').textContent = valueText(result);
    byId('single-value').hidden = false;
    fillTable(['result'], [[result]]);
  }
}

async function runQuery() {
  const query = buildQuery();
  const { project, key } = credentials();
  if (!project || !key) throw new FormError('Enter a project id and a read key.');
  updateSnippets();
  clearError();
  resetResult();
  setState('running', 'Running…');
  const started = performance.now();
  const answer = await api(`${projectPath(project)}/queries/${encodeURIComponent(query.type)}`, {
    method: 'POST',
    body: query.body,
  });
  renderResult(query, answer);
  setState('done', `Done in ${Math.round(performance.now() - started)} ms.`);
}

// ---- form wiring -------------------------------------------------------------

function addFilter() {
  const template = byId('filter-row');
  const row = template.content.firstElementChild.cloneNode(true);
  row.querySelector('.remove-filter').addEventListener('click', () => {
    row.remove();
    updateSnippets();
  });
  byId('filters').append(row);
  return row;
}

function syncVisibility() {
  const type = byId('analysis-type').value;
  byId('target-property-label').hidden = TARGETLESS.has(type);
  byId('percentile-label').hidden = type !== 'percentile';
  const kind = byId('timeframe-kind').value;
  byId('timeframe-relative').hidden = kind !== 'relative';
  byId('timeframe-absolute').hidden = kind !== 'absolute';
}

/** Runs an action from the UI; whatever it throws is shown, never logged. */
function guarded(action) {
  return (event) => {
    if (event) event.preventDefault();
    action().catch(showError);
  };
}

function start() {
  byId('project-id').value = sessionStorage.getItem(STORAGE.project) || '';
  byId('read-key').value = sessionStorage.getItem(STORAGE.key) || '';
  byId('connect-form').addEventListener('submit', guarded(loadCollections));
  byId('forget').addEventListener('click', () => {
    sessionStorage.removeItem(STORAGE.key);
    byId('read-key').value = '';
  });
  byId('collection').addEventListener('change', showSchema);
  byId('query-form').addEventListener('submit', guarded(runQuery));
  byId('query-form').addEventListener('input', updateSnippets);
  byId('query-form').addEventListener('change', () => {
    syncVisibility();
    updateSnippets();
  });
  byId('add-filter').addEventListener('click', () => {
    addFilter().querySelector('.filter-property').focus();
  });
  for (const button of document.querySelectorAll('button.copy')) {
    button.addEventListener('click', () => copySnippet(button.dataset.copy, button));
  }
  syncVisibility();
  setState('ready', '');
  if (byId('project-id').value && byId('read-key').value) guarded(loadCollections)();
}

start();
