import { randomUUID } from 'node:crypto';
import { RequestOrigin } from '@app/events';

export interface OriginHeaders {
  'x-request-id'?: string | string[];
  'x-request-start'?: string | string[];
  /** Set by the trusted edge: the client's own x-request-id (nginx/tally.conf.template). */
  'x-client-request-id'?: string | string[];
}

export interface RequestIdentity {
  requestId: string;
  /** Only set when the id and start time come from the trusted edge. */
  requestStart?: number;
  /** The id is the client's own x-request-id (see prepareEvent: ids then ignore receipt time). */
  clientChosenId?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request id plain enough to echo into logs and error bodies. */
export function isClientRequestId(value: string): boolean {
  return REQUEST_ID.test(value);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The request id keen.ids derive from. Behind our nginx (TRUST_PROXY=true) the
 * edge's id and start time are used, so a replayed journal entry re-creates the
 * same ids. Otherwise a client's own x-request-id is honoured (it makes only
 * that client's retries idempotent, since ids are keyed by project and secret).
 */
export function requestIdentity(headers: OriginHeaders, trustProxy: boolean): RequestIdentity {
  const id = first(headers['x-request-id']);
  const validId = id !== undefined && REQUEST_ID.test(id) ? id : undefined;
  if (trustProxy && validId) {
    // nginx's $msec: seconds with a millisecond fraction.
    const start = Number(first(headers['x-request-start']));
    if (Number.isFinite(start) && start > 0) {
      const requestStart = Math.round(start * 1000);
      // The client's own id, passed on by the edge: its idempotency key, so a
      // retry sent however late (with another edge id and time) gets the same ids.
      const client = first(headers['x-client-request-id']);
      if (client !== undefined && REQUEST_ID.test(client))
        return { requestId: `client:${client}`, requestStart, clientChosenId: true };
      return { requestId: validId, requestStart };
    }
  }
  return validId ? { requestId: `client:${validId}`, clientChosenId: true } : { requestId: randomUUID() };
}

export function requestOrigin(projectId: string, headers: OriginHeaders, trustProxy: boolean): RequestOrigin {
  const identity = requestIdentity(headers, trustProxy);
  // Behind the trusted edge, the request was received when the edge received
  // it: keen.created_at then depends only on what the journal records, so a
  // replay of a journal entry re-creates the event exactly, body included.
  return { projectId, receivedAt: identity.requestStart ?? Date.now(), ...identity };
}
