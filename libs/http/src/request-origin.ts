import { randomUUID } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
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

export interface ClientHeaders {
  'user-agent'?: string | string[];
  /** Set by our nginx to the address it accepted the connection from ($remote_addr). */
  'x-real-ip'?: string | string[];
  'x-forwarded-for'?: string | string[];
}

/** The write request's client, for keen:ip_to_geo and the ${keen.ip} / ${keen.user_agent} placeholders. */
export interface RequestClient {
  ip?: string;
  userAgent?: string;
}

// Where a proxy we run can be: this host, or a private network (a compose or
// cluster network). A header from any other peer is the client's own word.
const PROXY_NETWORKS = new BlockList();
PROXY_NETWORKS.addSubnet('127.0.0.0', 8, 'ipv4');
PROXY_NETWORKS.addSubnet('10.0.0.0', 8, 'ipv4');
PROXY_NETWORKS.addSubnet('172.16.0.0', 12, 'ipv4');
PROXY_NETWORKS.addSubnet('192.168.0.0', 16, 'ipv4');
PROXY_NETWORKS.addAddress('::1', 'ipv6');
PROXY_NETWORKS.addSubnet('fc00::', 7, 'ipv6');

/** `::ffff:1.2.3.4` (a dual-stack socket's IPv4 peer) as 1.2.3.4; anything not an address is undefined. */
function plainIp(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const ip = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(trimmed)?.[1] ?? trimmed;
  return isIP(ip) ? ip : undefined;
}

function isProxyPeer(ip: string | undefined): boolean {
  if (ip === undefined) return false;
  return PROXY_NETWORKS.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address and user agent. The address is the socket's peer,
 * unless TRUST_PROXY is set and that peer is a proxy of ours (loopback or a
 * private network): then it is the address our nginx saw, which it sends as
 * X-Real-IP (and as the only X-Forwarded-For entry), overwriting whatever the
 * client sent. With several proxies, X-Forwarded-For's last entry is the one
 * the nearest proxy added. A header from any other peer is never believed.
 */
export function requestClient(
  headers: ClientHeaders,
  peerAddress: string | undefined,
  trustProxy: boolean,
): RequestClient {
  const peer = plainIp(peerAddress);
  let ip = peer;
  if (trustProxy && isProxyPeer(peer)) {
    const forwarded = first(headers['x-forwarded-for'])?.split(',').pop();
    ip = plainIp(first(headers['x-real-ip'])) ?? plainIp(forwarded) ?? peer;
  }
  const userAgent = first(headers['user-agent']);
  return { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) };
}
