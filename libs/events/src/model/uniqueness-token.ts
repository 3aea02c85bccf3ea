import { createHmac } from 'node:crypto';
import { JsonObject } from '../json.types';
import { TallyError } from '../errors';

/** Longest `keen.uniqueness_token` accepted (characters); Keen publishes no limit. */
export const MAX_UNIQUENESS_TOKEN_LENGTH = 256;

/**
 * The event's `keen.uniqueness_token`, or undefined when it carries none.
 * A present token must be a non-empty string of at most 256 characters: a
 * number or an object would be compared by some serialisation the client
 * cannot see, and an unbounded string is hashed on the request's thread.
 */
export function uniquenessTokenOf(keen: JsonObject): string | undefined {
  const token = keen.uniqueness_token;
  if (token === undefined) return undefined;
  if (typeof token !== 'string' || token.length === 0) {
    throw new TallyError(
      'invalid',
      'InvalidPropertyValueError',
      '"keen.uniqueness_token" must be a non-empty string.',
    );
  }
  if (token.length > MAX_UNIQUENESS_TOKEN_LENGTH) {
    throw new TallyError(
      'invalid',
      'InvalidPropertyValueError',
      `"keen.uniqueness_token" is ${token.length} characters long; at most ${MAX_UNIQUENESS_TOKEN_LENGTH} are accepted.`,
    );
  }
  return token;
}

/**
 * Whether a prepared event is named by its uniqueness token: then copies
 * that share its keen.id may carry different bodies and timestamps, which a
 * store that decides duplicates after writing (Cassandra) must not mix up.
 */
export function namedByUniquenessToken(event: JsonObject): boolean {
  const keen = event.keen;
  return (
    typeof keen === 'object' &&
    keen !== null &&
    !Array.isArray(keen) &&
    typeof keen.uniqueness_token === 'string'
  );
}

export interface TokenIdInput {
  projectId: string;
  collection: string;
  token: string;
}

// The token ids are keyed with a key of their own, derived from the server
// secret: no (project, collection, request id, body) of the ordinary
// derivation can hash to the input of a token id or the other way round.
const TOKEN_KEY_LABEL = 'tally keen.uniqueness_token id v1';
let cachedKey: { secret: string; key: Buffer } | undefined;

function tokenKey(secret: string): Buffer {
  if (cachedKey?.secret !== secret) {
    cachedKey = { secret, key: createHmac('sha256', secret).update(TOKEN_KEY_LABEL).digest() };
  }
  return cachedKey.key;
}

/**
 * keen.id of an event that carries a uniqueness token: 24 hex characters, a
 * keyed hash of (project, collection, token) and nothing else. Every event
 * with that token in that collection gets this one id whatever its body,
 * timestamp, request or delivery, so the store's insert-by-id keeps the first
 * one stored and reports every later one as a duplicate: concurrent clients,
 * worker redelivery and journal replay collapse to one event, counted once.
 * The project and collection are in the hash, so one project's tokens can
 * never name another project's (or collection's) events; the server secret
 * keeps a client from choosing a token whose id equals an ordinary event id.
 * Unlike ordinary ids there is no time-ordered prefix: the timestamp of a
 * retry may differ, and its id must not.
 */
export function deriveTokenEventId(secret: string, input: TokenIdInput): string {
  // JSON array text: an unambiguous encoding whatever characters the fields hold.
  return createHmac('sha256', tokenKey(secret))
    .update(JSON.stringify([input.projectId, input.collection, input.token]))
    .digest('hex')
    .slice(0, 24);
}
