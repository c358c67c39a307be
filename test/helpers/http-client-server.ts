import type { TestServer } from './servers.js';
import { startServer } from './servers.js';

/**
 * A loopback server for the HTTP client compatibility suite: `/echo` answers
 * the method, content type and body as JSON; `/status/<n>` answers that
 * status; `/stream` sends three chunks 20 ms apart; `/hang` never answers;
 * `/v1/chat/completions` is a fake OpenAI (SSE when `stream: true`);
 * `/graphql` answers `{ data: { hello } }`.
 */
export function startClientServer(): Promise<TestServer> {
  return startServer('clients', (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/echo') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'] ?? null, body }));
    } else if (url.pathname.startsWith('/status/')) {
      res.statusCode = Number.parseInt(url.pathname.slice(8), 10);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { message: `status ${res.statusCode}` } }));
    } else if (url.pathname === '/stream') {
      res.setHeader('content-type', 'text/plain');
      let n = 0;
      const tick = (): void => {
        res.write(`chunk${n}\n`);
        if (++n === 3) res.end();
        else setTimeout(tick, 20);
      };
      tick();
    } else if (url.pathname.startsWith('/hang')) {
      // never answers
    } else if (url.pathname === '/v1/chat/completions') {
      const request = JSON.parse(body) as { stream?: boolean; model: string };
      const base = { id: 'chatcmpl-1', created: 1, model: request.model };
      if (!request.stream) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello there' } }],
        }));
        return;
      }
      res.setHeader('content-type', 'text/event-stream');
      const words = ['Hel', 'lo ', 'there'];
      let i = 0;
      const send = (): void => {
        if (i < words.length) {
          const chunk = { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: words[i++] }, finish_reason: null }] };
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
          setTimeout(send, 10);
        } else {
          res.end('data: [DONE]\n\n');
        }
      };
      send();
    } else if (url.pathname === '/graphql') {
      const { variables } = JSON.parse(body) as { variables?: { name?: string } };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: { hello: `hello ${variables?.name ?? 'world'}` } }));
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
}
