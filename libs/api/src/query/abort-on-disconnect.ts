/** The part of a Fastify reply this needs: its raw Node response. */
export interface ClientReply {
  raw: { once(event: 'close', listener: () => void): unknown; readonly writableFinished: boolean };
}

/**
 * An AbortSignal that fires when the client goes away before the answer is
 * sent, so an abandoned query stops scanning instead of finishing for no one.
 * It watches the response, not the request: a request emits 'close' as soon
 * as its body has been read, so a client leaving later went unnoticed and
 * its query kept its project slot to the end.
 */
export function abortOnDisconnect(reply: ClientReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
