import { JsonObject, JsonValue, propertyNameProblem, TallyError } from '@app/events';
import { parseFilters, ParseFilterOptions } from '@app/query-engine';
import { KEY_PERMISSIONS, KeyPermission } from '@app/storage';

/**
 * The body of POST /keys and POST /keys/{key}, checked field by field: what
 * is stored is only what Tally understands, so a typo in an option is a 400
 * here and not a key that silently allows more than meant.
 */
export interface AccessKeyFields {
  name?: string;
  isActive?: boolean;
  permitted?: KeyPermission[];
  options?: JsonObject;
}

const MAX_KEY_NAME = 256;
/** Names in one allow or block list. */
const MAX_LISTED_NAMES = 1000;
/** The autofill as JSON text: it is merged into every event the key writes. */
const MAX_AUTOFILL_BYTES = 32 * 1024;
const MAX_AUTOFILL_DEPTH = 16;
const DATASET_OPERATIONS = ['read', 'list', 'retrieve'];

/** Fields a client may send back from a GET; they are read-only and ignored. */
const READ_ONLY = new Set(['key', 'key_hash', 'project_id', 'created_date']);
const FIELDS = new Set(['name', 'is_active', 'permitted', 'options']);
const OPTIONS = new Set(['queries', 'writes', 'saved_queries', 'cached_queries', 'datasets']);

export function invalidKeyBody(message: string): TallyError {
  return new TallyError('invalid', 'InvalidAccessKeyError', message);
}

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(value: JsonObject, allowed: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw invalidKeyBody(
        `${where} has an unknown field "${key.slice(0, 100)}"; the fields are ${[...allowed].join(', ')}.`,
      );
    }
  }
}

/** `create`: name is required; an update changes only the fields it names. */
export function parseAccessKeyBody(
  body: unknown,
  create: boolean,
  filterLimits: ParseFilterOptions = {},
): AccessKeyFields {
  if (!isObject(body)) throw invalidKeyBody('An access key is a JSON object.');
  const fields: AccessKeyFields = {};
  for (const key of Object.keys(body)) {
    if (!READ_ONLY.has(key) && !FIELDS.has(key)) {
      throw invalidKeyBody(
        `The access key has an unknown field "${key.slice(0, 100)}"; the fields are ${[...FIELDS].join(', ')}.`,
      );
    }
  }
  if (body.name !== undefined || create) {
    if (
      typeof body.name !== 'string' ||
      body.name.length === 0 ||
      body.name.length > MAX_KEY_NAME
    ) {
      throw invalidKeyBody(`"name" must be a string of 1 to ${MAX_KEY_NAME} characters.`);
    }
    fields.name = body.name;
  }
  if (body.is_active !== undefined) {
    if (typeof body.is_active !== 'boolean')
      throw invalidKeyBody('"is_active" must be true or false.');
    fields.isActive = body.is_active;
  }
  if (body.permitted !== undefined) fields.permitted = parsePermitted(body.permitted);
  if (body.options !== undefined) fields.options = parseOptions(body.options, filterLimits);
  return fields;
}

function parsePermitted(value: JsonValue): KeyPermission[] {
  if (!Array.isArray(value)) {
    throw invalidKeyBody(`"permitted" must be a list of: ${KEY_PERMISSIONS.join(', ')}.`);
  }
  const out: KeyPermission[] = [];
  for (const p of value) {
    if (typeof p !== 'string' || !(KEY_PERMISSIONS as readonly string[]).includes(p)) {
      throw invalidKeyBody(
        `"permitted" has ${JSON.stringify(p).slice(0, 100)}; allowed: ${KEY_PERMISSIONS.join(', ')}.`,
      );
    }
    if (!out.includes(p as KeyPermission)) out.push(p as KeyPermission);
  }
  return out;
}

function parseOptions(value: JsonValue, filterLimits: ParseFilterOptions): JsonObject {
  if (!isObject(value)) throw invalidKeyBody('"options" must be a JSON object.');
  onlyKeys(value, OPTIONS, '"options"');
  const out: JsonObject = {};
  if (value.queries !== undefined) {
    const queries = value.queries;
    if (!isObject(queries)) throw invalidKeyBody('"options.queries" must be a JSON object.');
    onlyKeys(queries, new Set(['filters']), '"options.queries"');
    // Parsed as a query's filters are (operators, limits); kept as sent.
    parseFilters(queries.filters, 'options.queries.filters', filterLimits);
    out.queries = queries.filters === undefined ? {} : { filters: queries.filters };
  }
  if (value.writes !== undefined) {
    const writes = value.writes;
    if (!isObject(writes)) throw invalidKeyBody('"options.writes" must be a JSON object.');
    onlyKeys(writes, new Set(['autofill']), '"options.writes"');
    if (writes.autofill !== undefined) {
      if (!isObject(writes.autofill))
        throw invalidKeyBody(
          '"options.writes.autofill" must be a JSON object (properties to add).',
        );
      checkAutofill(writes.autofill, 'options.writes.autofill', 0);
      if (JSON.stringify(writes.autofill).length > MAX_AUTOFILL_BYTES) {
        throw invalidKeyBody(
          `"options.writes.autofill" is over ${MAX_AUTOFILL_BYTES} bytes of JSON.`,
        );
      }
      out.writes = { autofill: writes.autofill };
    } else out.writes = {};
  }
  for (const kind of ['saved_queries', 'cached_queries'] as const) {
    if (value[kind] !== undefined) out[kind] = parseNameLists(value[kind], `options.${kind}`);
  }
  if (value.datasets !== undefined) out.datasets = parseDatasetOptions(value.datasets);
  return out;
}

/** Property names as an event's are checked, so a merged event is never refused for the key's part. */
function checkAutofill(value: JsonObject, where: string, depth: number): void {
  if (depth > MAX_AUTOFILL_DEPTH) throw invalidKeyBody(`"${where}" is nested too deeply.`);
  for (const key of Object.keys(value)) {
    const problem = propertyNameProblem(key);
    if (problem) throw invalidKeyBody(`"${where}" property "${key.slice(0, 100)}" ${problem}.`);
    const child = value[key];
    if (isObject(child)) checkAutofill(child, `${where}.${key}`, depth + 1);
  }
}

function stringList(value: JsonValue, where: string): string[] {
  if (
    !Array.isArray(value) ||
    value.length > MAX_LISTED_NAMES ||
    value.some((n) => typeof n !== 'string' || n.length === 0 || n.length > MAX_KEY_NAME)
  ) {
    throw invalidKeyBody(`"${where}" must be a list of at most ${MAX_LISTED_NAMES} names.`);
  }
  return value as string[];
}

function parseNameLists(value: JsonValue, where: string): JsonObject {
  if (!isObject(value)) throw invalidKeyBody(`"${where}" must be a JSON object.`);
  onlyKeys(value, new Set(['allowed', 'blocked']), `"${where}"`);
  const out: JsonObject = {};
  if (value.allowed !== undefined) out.allowed = stringList(value.allowed, `${where}.allowed`);
  if (value.blocked !== undefined) out.blocked = stringList(value.blocked, `${where}.blocked`);
  return out;
}

function parseDatasetOptions(value: JsonValue): JsonObject {
  const where = 'options.datasets';
  if (!isObject(value)) throw invalidKeyBody(`"${where}" must be a JSON object.`);
  onlyKeys(value, new Set(['operations', 'allowed', 'blocked']), `"${where}"`);
  const out: JsonObject = {};
  if (value.operations !== undefined) {
    const ops = stringList(value.operations, `${where}.operations`);
    const bad = ops.find((o) => !DATASET_OPERATIONS.includes(o));
    if (bad)
      throw invalidKeyBody(
        `"${where}.operations" has "${bad.slice(0, 100)}"; allowed: ${DATASET_OPERATIONS.join(', ')}.`,
      );
    out.operations = ops;
  }
  if (value.blocked !== undefined) out.blocked = stringList(value.blocked, `${where}.blocked`);
  if (value.allowed !== undefined) {
    const allowed = value.allowed;
    // Keen's form: dataset name → { index_by: { property: [values] } } (the values a key may read).
    if (!isObject(allowed) || Object.keys(allowed).length > MAX_LISTED_NAMES) {
      throw invalidKeyBody(
        `"${where}.allowed" must map at most ${MAX_LISTED_NAMES} dataset names to their limits.`,
      );
    }
    for (const [name, limits] of Object.entries(allowed)) {
      if (!isObject(limits))
        throw invalidKeyBody(`"${where}.allowed.${name.slice(0, 100)}" must be a JSON object.`);
      onlyKeys(limits, new Set(['index_by']), `"${where}.allowed.${name.slice(0, 100)}"`);
      if (limits.index_by !== undefined && !isObject(limits.index_by)) {
        throw invalidKeyBody(
          `"${where}.allowed.${name.slice(0, 100)}.index_by" must map properties to their allowed values.`,
        );
      }
    }
    out.allowed = allowed;
  }
  return out;
}
