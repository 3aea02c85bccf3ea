import { TallyError } from '@app/events';
import { DeadLetterSelection } from '@app/core';

/** Ids one requeue or purge may name. */
export const MAX_IDS = 1_000;
/** Entries one list page may hold. */
export const MAX_PAGE = 1_000;
export const DEFAULT_PAGE = 100;

/** keen.ids as Tally makes them (24 hex) or as an import kept them; nothing that could escape a key. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

const bad = (message: string) => new TallyError('invalid', 'InvalidParameterError', message);

export function parseDeadLetterId(value: unknown, name = 'the dead letter id'): string {
  if (typeof value !== 'string' || !ID.test(value))
    throw bad(`${name} must be an event's keen.id (1-128 letters, digits, "_" or "-").`);
  return value;
}

/** `limit` (1..MAX_PAGE, default DEFAULT_PAGE) and `after` (a keen.id) of a list request. */
export function parseListParams(query: Record<string, unknown>): { limit: number; after?: string } {
  for (const name of Object.keys(query)) {
    if (name !== 'limit' && name !== 'after' && name !== 'api_key')
      throw bad(
        `Unknown parameter "${name.slice(0, 100)}": a dead-letter list takes limit and after.`,
      );
  }
  let limit = DEFAULT_PAGE;
  if (query.limit !== undefined) {
    const text = query.limit;
    limit = typeof text === 'string' && /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE))
      throw bad(`limit must be a whole number from 1 to ${MAX_PAGE}.`);
  }
  const after = query.after === undefined ? undefined : parseDeadLetterId(query.after, 'after');
  return { limit, ...(after !== undefined ? { after } : {}) };
}

/**
 * The body of a requeue or purge: `{"ids": [...]}` (at most MAX_IDS) or
 * `{"all": true}`. Nothing is implied: an empty body is refused, so a purge
 * of everything is always asked for in so many words.
 */
export function parseSelection(body: unknown): DeadLetterSelection {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('The body must be {"ids": ["<keen.id>", ...]} or {"all": true}.');
  const keys = Object.keys(body);
  const fields = body as Record<string, unknown>;
  if (keys.length === 1 && keys[0] === 'all' && fields.all === true) return { all: true };
  if (keys.length === 1 && keys[0] === 'ids') {
    const ids = fields.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS)
      throw bad(`"ids" must be an array of 1 to ${MAX_IDS} keen.ids.`);
    return { ids: ids.map((id, i) => parseDeadLetterId(id, `ids[${i}]`)) };
  }
  throw bad('The body must be {"ids": ["<keen.id>", ...]} or {"all": true}, and nothing else.');
}
