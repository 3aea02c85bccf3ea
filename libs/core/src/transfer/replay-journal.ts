import { isIP } from 'node:net';
import {
  assertCollectionName,
  CollectionEvent,
  decodeBeaconData,
  parseJsonText,
  prepareEvent,
  RequestOrigin,
  TallyError,
} from '@app/events';
import { EventPersister, isRejectedEventsError } from '@app/storage';
import { EventAddons, RequestClient } from '../ingest/addons';

/** The fields of one edge-journal line that a replay reads (nginx/tally.conf.template). */
interface JournalEntry {
  request_id: string;
  /** The client's own x-request-id as the edge passed it on (empty: none). */
  client_request_id?: string;
  msec: string;
  method: string;
  uri: string;
  args: string;
  status: string;
  body: string;
  /** The address nginx accepted the connection from: the ingest pool's ${keen.ip}. */
  remote_addr?: string;
  user_agent?: string;
}

/** One acknowledged write request of the journal, as the ingest pool received it. */
export interface JournaledWrite {
  projectId: string;
  /** The id keen.ids derive from: the edge's, or `client:<id>` for a client's own. */
  requestId: string;
  /** The client chose the id (its idempotency key), as libs/http/src/request-origin.ts decides. */
  clientChosenId: boolean;
  /** The edge's receipt time (epoch ms): the request's start and the events' keen.created_at. */
  requestStart: number;
  /** Collection → the events as sent (a single write or beacon is one collection of one). */
  collections: Map<string, unknown[]>;
  /** The client as the ingest pool saw it (through the edge), for keen.addons and placeholders. */
  client: RequestClient;
}

const SINGLE = /^\/3\.0\/projects\/([^/]+)\/events\/([^/]+)$/;
const BATCH = /^\/3\.0\/projects\/([^/]+)\/events$/;
const REQUEST_ID = /^[0-9a-f]{32}$/;
// The client ids the edge passes on (nginx/tally.conf.template, request-origin.ts).
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type JournalLine =
  | { kind: 'write'; write: JournaledWrite }
  | { kind: 'skipped'; reason: 'not-a-write' | 'not-acknowledged' }
  | { kind: 'unreadable'; reason: string };

/**
 * Reads one journal line. Only what the ingest pool acknowledged (2xx) is a
 * write to replay: a 4xx was never stored and a 5xx was not acknowledged
 * (its client retried, and that retry has a line of its own).
 */
export function readJournalLine(text: string): JournalLine {
  let entry: JournalEntry;
  try {
    entry = parseJsonText(text, 'The journal line') as unknown as JournalEntry;
  } catch (error) {
    return { kind: 'unreadable', reason: (error as Error).message };
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.uri !== 'string')
    return { kind: 'unreadable', reason: 'not a journal entry (no "uri")' };
  const start = Math.round(Number(entry.msec) * 1000);
  if (!REQUEST_ID.test(String(entry.request_id)) || !Number.isFinite(start) || start <= 0)
    return { kind: 'unreadable', reason: 'no edge request id or start time' };
  const single = SINGLE.exec(entry.uri);
  const batch = single ? null : BATCH.exec(entry.uri);
  const isWrite =
    (entry.method === 'POST' && (single || batch)) ||
    (entry.method === 'GET' && single && /(^|&)data=/.test(entry.args ?? ''));
  if (!isWrite) return { kind: 'skipped', reason: 'not-a-write' };
  if (!/^2\d\d$/.test(String(entry.status))) return { kind: 'skipped', reason: 'not-acknowledged' };
  const match = (single ?? batch)!;
  let projectId: string;
  let collection: string | undefined;
  try {
    projectId = decodeURIComponent(match[1]);
    collection = single ? decodeURIComponent(match[2]) : undefined;
  } catch {
    return { kind: 'unreadable', reason: 'malformed percent-escape in the uri' };
  }
  const collections = new Map<string, unknown[]>();
  try {
    if (entry.method === 'GET') {
      collections.set(collection!, [decodeBeaconData(new URLSearchParams(entry.args).get('data'))]);
    } else if (collection !== undefined) {
      collections.set(collection, [parseJsonText(entry.body, 'The journaled body')]);
    } else {
      const body = parseJsonText(entry.body, 'The journaled body');
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return { kind: 'unreadable', reason: 'a batch body that is not an object' };
      for (const [name, events] of Object.entries(body))
        if (Array.isArray(events)) collections.set(name, events);
    }
  } catch (error) {
    return { kind: 'unreadable', reason: (error as Error).message };
  }
  const client = entry.client_request_id;
  const clientChosenId = typeof client === 'string' && CLIENT_REQUEST_ID.test(client);
  return {
    kind: 'write',
    write: {
      projectId,
      requestId: clientChosenId ? `client:${client}` : entry.request_id,
      clientChosenId,
      requestStart: start,
      collections,
      client: {
        ...(typeof entry.remote_addr === 'string' && isIP(entry.remote_addr) ? { ip: entry.remote_addr } : {}),
        ...(typeof entry.user_agent === 'string' && entry.user_agent ? { userAgent: entry.user_agent } : {}),
      },
    },
  };
}

/**
 * The events of a journaled write exactly as the ingest pool prepared them:
 * the same origin (edge id and start time), the same index per collection, so
 * the same keen.id and keen.created_at. Events the pool refused at the time
 * are refused again and counted.
 */
export function eventsOfWrite(
  write: JournaledWrite,
  options: { idSecret: string; maxEventBytes: number },
  /** Loaded for this write's add-ons beforehand (`EventAddons.load`), as the ingest pool does. */
  addons: EventAddons = EventAddons.shared(),
): { events: CollectionEvent[]; refused: number } {
  const origin: RequestOrigin = {
    projectId: write.projectId,
    requestId: write.requestId,
    requestStart: write.requestStart,
    receivedAt: write.requestStart,
    ...(write.clientChosenId ? { clientChosenId: true } : {}),
  };
  const events: CollectionEvent[] = [];
  let refused = 0;
  for (const [collection, raws] of write.collections) {
    try {
      assertCollectionName(collection);
    } catch {
      refused += raws.length;
      continue;
    }
    raws.forEach((raw, index) => {
      try {
        const prepared = prepareEvent(collection, raw, index, origin, options);
        events.push(addons.apply(prepared, write.client, options.maxEventBytes));
      } catch (error) {
        if (!(error instanceof TallyError)) throw error;
        refused++;
      }
    });
  }
  return { events, refused };
}

export interface ReplayOptions {
  /** Epoch ms, inclusive / exclusive: the window of edge receipt times to replay. */
  from: number;
  to: number;
  /** Only this project's writes (default: every project). */
  projectId?: string;
  idSecret: string;
  maxEventBytes: number;
  /** Count what would be replayed without writing. */
  dryRun?: boolean;
  /** Events per persister call (default 500); a request's events are never split. */
  batchSize?: number;
  onProgress?: (progress: ReplayOutcome) => void;
  onUnreadable?: (line: number, reason: string) => void;
}

export interface ReplayOutcome {
  lines: number;
  /** Acknowledged write requests inside the window (and project). */
  requests: number;
  /** Events stored by this replay: they were missing. */
  inserted: number;
  /** Events already stored (a second replay finds only these). */
  duplicates: number;
  /** Events the ingest pool refused at the time too (invalid), or the store refuses. */
  refused: number;
  /** Lines that are not a journal entry of a write (corrupt, cut short). */
  unreadable: number;
}

/**
 * Re-sends the acknowledged write requests of a journal window through the
 * deployment's own persister (so schema counters count what is inserted).
 * keen.ids are derived exactly as at the time, so what is still stored is a
 * duplicate and only what was lost is written: a replay is idempotent.
 */
export async function replayJournal(
  persister: Pick<EventPersister, 'persist'>,
  lines: AsyncIterable<string>,
  options: ReplayOptions,
): Promise<ReplayOutcome> {
  const batchSize = options.batchSize ?? 500;
  const outcome: ReplayOutcome = {
    lines: 0,
    requests: 0,
    inserted: 0,
    duplicates: 0,
    refused: 0,
    unreadable: 0,
  };
  const pending = new Map<string, CollectionEvent[]>();
  const flush = async (projectId: string) => {
    const batch = pending.get(projectId);
    pending.delete(projectId);
    if (!batch || batch.length === 0) return;
    if (options.dryRun) {
      outcome.inserted += batch.length;
      return;
    }
    try {
      const stored = await persister.persist(projectId, batch);
      outcome.inserted += stored.inserted;
      outcome.duplicates += stored.duplicates;
    } catch (error) {
      if (!isRejectedEventsError(error)) throw error;
      outcome.inserted += error.persisted.inserted;
      outcome.duplicates += error.persisted.duplicates;
      outcome.refused += error.rejected.length;
    }
  };

  for await (const text of lines) {
    outcome.lines++;
    if (text.trim().length === 0) continue;
    const line = readJournalLine(text);
    if (line.kind === 'unreadable') {
      outcome.unreadable++;
      options.onUnreadable?.(outcome.lines, line.reason);
      continue;
    }
    if (line.kind === 'skipped') continue;
    const { write } = line;
    if (write.requestStart < options.from || write.requestStart >= options.to) continue;
    if (options.projectId !== undefined && write.projectId !== options.projectId) continue;
    outcome.requests++;
    await EventAddons.shared().load([...write.collections.values()].flat(), write.client);
    const { events, refused } = eventsOfWrite(write, options);
    outcome.refused += refused;
    // A request's events stay together: the batch is flushed before one that would overflow it.
    const held = pending.get(write.projectId);
    if (held && held.length + events.length > batchSize) await flush(write.projectId);
    const batch = pending.get(write.projectId);
    if (batch) batch.push(...events);
    else pending.set(write.projectId, events);
    if (outcome.requests % 100 === 0) options.onProgress?.({ ...outcome });
  }
  for (const projectId of [...pending.keys()]) await flush(projectId);
  options.onProgress?.({ ...outcome });
  return outcome;
}
