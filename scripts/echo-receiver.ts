// A tiny webhook receiver for the local walk-through: listens on
// 127.0.0.1:9999 (HS_ECHO_PORT overrides), answers 200 to every POST and logs
// its webhook-id and the first 200 bytes of its body to stdout.
import { createServer } from 'node:http';

const port = Number(process.env.HS_ECHO_PORT ?? 9999);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const id = req.headers['webhook-id'] ?? '-';
    const excerpt = body
      .subarray(0, 200)
      .toString('utf8')
      .replace(/\s*[\r\n]+\s*/g, ' ');
    console.log(`${new Date().toISOString()} ${req.method} ${req.url} webhook-id=${id} ${excerpt}`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  });
});
server.listen(port, '127.0.0.1', () => console.log(`echo receiver on http://127.0.0.1:${port}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
