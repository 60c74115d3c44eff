/**
 * A request flowing through two narrators with one correlation id.
 *
 * An "api-gateway" receives a request, narrates, and calls a "gpu-worker" over HTTP (loopback)
 * with the correlation headers injected; the worker reads them back, narrates in its own
 * narrator, and both write JSON lines to standard output. Grep the id to follow the request:
 *
 *   node --conditions=@vramseal/source --import tsx examples/two-narrators.ts | grep <id>
 *
 * (Installed from npm, import '@vramseal/narration-core' the same way and run it with tsx.)
 */
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  correlationFromHeaders,
  createNarrator,
  injectCorrelationHeaders,
  withCorrelation,
} from '@vramseal/narration-core';

const gateway = createNarrator({ actor: 'api-gateway', emittedBy: 'example-gateway@1.0.0' });
const worker = createNarrator({ actor: 'gpu-worker', emittedBy: 'example-worker@1.0.0' }).child({
  worker_id: 'worker-0',
  device: 'GPU0',
});

// The worker: takes the correlation from the incoming headers (a missing or malformed id is
// replaced, never echoed) and narrates inside it.
const server = createServer((req, res) => {
  withCorrelation(correlationFromHeaders(req.headers), () => {
    const started = Date.now();
    worker.info({
      action: 'verify',
      target: 'shard-0',
      human: 'Verified shard 0 of llama-3-8b against its seal before inference.',
      model_ref: 'hf:meta-llama/Meta-Llama-3-8B',
      duration_ms: Date.now() - started,
    });
    res.end('ok');
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

// The gateway: one correlation per incoming request (here: a request without headers, so a
// fresh id), kept across the await of the outgoing call.
await withCorrelation(correlationFromHeaders({}), async () => {
  gateway.info({ action: 'receive', target: '/v1/infer', human: 'Received an inference request.' });
  const headers = injectCorrelationHeaders({});
  const body = await new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/verify', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
  gateway.info({
    action: 'respond',
    target: '/v1/infer',
    human: `Worker answered "${body}"; replying to the client.`,
  });
});

server.close();
