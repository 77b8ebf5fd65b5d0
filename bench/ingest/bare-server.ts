// Baseline (a): a bare node:http server that reads the body and answers 202
// with a JSON id, as ingest does, but publishes nothing.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? '0');
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    Buffer.concat(chunks);
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(`{"id":"${randomUUID()}"}`);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
