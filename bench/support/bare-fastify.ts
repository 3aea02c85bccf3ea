import Fastify from 'fastify';

/**
 * The baseline: a bare Fastify server answering the same requests as Tally's
 * write API (parse the JSON, answer the same bodies) and storing nothing.
 * Tally's figures divided by these show what our code and the disk cost.
 */
async function main(): Promise<void> {
  const app = Fastify({ bodyLimit: 10 * 1024 * 1024 });
  app.post('/3.0/projects/:p/events/:c', async (_req, reply) => {
    reply.code(201);
    return { created: true };
  });
  app.post('/3.0/projects/:p/events', async (req) => {
    const body = req.body as Record<string, unknown[]>;
    const out: Record<string, Array<{ success: true }>> = {};
    for (const [c, events] of Object.entries(body)) out[c] = events.map(() => ({ success: true }));
    return out;
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.stdout.write('bare fastify listening on\n');
}

void main();
