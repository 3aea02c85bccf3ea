/** The parts of a Fastify request this needs: its raw Node socket events. */
export interface ClientRequest {
  raw: { once(event: 'close', listener: () => void): void; complete?: boolean };
  socket?: { destroyed?: boolean };
}

/**
 * An AbortSignal that fires when the client goes away before the answer is
 * sent, so an abandoned query stops scanning instead of finishing for no one.
 */
export function abortOnDisconnect(req: ClientRequest): AbortSignal {
  const controller = new AbortController();
  req.raw.once('close', () => {
    if (req.socket?.destroyed) controller.abort();
  });
  return controller.signal;
}
