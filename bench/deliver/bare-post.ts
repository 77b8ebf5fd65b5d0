// Baseline for the deliver benchmark: N signed POSTs of the same body with
// the same headers as deliver sends, CONCURRENCY at a time, over one undici
// Agent. Prints {"rate": posts per second} on stdout.
import { signStandardWebhooks } from '@hookstream/signing';
import { Agent, request } from 'undici';

const url = String(process.env.URL);
const n = Number(process.env.N);
const concurrency = Number(process.env.CONCURRENCY);
const secret = String(process.env.SECRET);
const body = Buffer.from(String(process.env.BODY));
const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });

let next = 0;
async function worker(): Promise<void> {
  while (next < n) {
    const i = next++;
    const id = `bare-${i}`;
    const ts = Math.floor(Date.now() / 1000);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 3_000);
    const res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      signal: controller.signal,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'hookstream/0.1',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhooks(id, ts, body, [secret]),
      },
    });
    await res.body.text();
    clearTimeout(timer);
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, () => worker()));
const rate = n / ((performance.now() - started) / 1000);
process.stdout.write(`${JSON.stringify({ rate })}\n`);
await agent.close();
