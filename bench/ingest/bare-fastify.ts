// Baseline (a2): the same bare server as bare-server.ts on fastify, to choose
// ingest's HTTP layer by measurement.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
// Keep the body as raw bytes, as ingest must.
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/*', async (_req, reply) => {
  reply.code(202).header('content-type', 'application/json');
  return `{"id":"${randomUUID()}"}`;
});
const address = await app.listen({ port: Number(process.env.PORT ?? '0'), host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
