import { createServer, type Server } from 'node:http';

/**
 * A local HTTP server speaking the OpenAI chat-completions streaming wire
 * format (SSE `data:` chunks, `[DONE]`), including streamed tool calls whose
 * arguments arrive in pieces. It answers like the `local` model's contract so
 * a run behaves the same with either. Beyond it, for limit tests: `/tool-loop
 * NAME ARGS` calls the tool again after every result (a model that never
 * stops), and `/nul` puts NUL characters into the reply.
 */
export interface FakeOpenAI {
  baseURL: string;
  requests: { authorization?: string; model: string; messages: { role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string }[]; tools?: { function: { name: string } }[]; stream: boolean }[];
  failNext(status: number): void;
  close(): Promise<void>;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: FakeOpenAI['requests'] = [];
  let failures: number[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const failure = failures.shift();
      if (failure) {
        res.writeHead(failure, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'fake failure', type: 'server_error' } }));
        return;
      }
      const request = JSON.parse(body);
      requests.push({ ...request, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const id = `chatcmpl-${++calls}`;
      const send = (delta: object, finish: string | null = null, extra: object = {}) =>
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`,
        );
      const last = request.messages.at(-1);
      const textOf = (m: { content: unknown }) =>
        typeof m.content === 'string' ? m.content : (m.content as { text: string }[]).map((p) => p.text).join('');
      const lastUser = textOf(request.messages.findLast((m: { role: string }) => m.role === 'user'));
      const loop = lastUser.match(/^\/tool-loop (\w+) (.*)$/m);
      send({ role: 'assistant', content: '' });
      if (loop) {
        send({ tool_calls: [{ index: 0, id: `call_${calls}`, type: 'function', function: { name: loop[1], arguments: loop[2] } }] });
        send({}, 'tool_calls');
      } else if (last.role === 'tool') {
        const results = request.messages.filter((m: { role: string }) => m.role === 'tool');
        const mine = results.slice(-1);
        for (const r of mine) send({ content: `Tool result: ${typeof r.content === 'string' ? r.content : JSON.stringify(r.content)}` });
        send({}, 'stop');
      } else {
        const text = textOf(last);
        const tool = text.match(/^\/tool (\w+) (.*)$/m);
        if (tool) {
          send({ content: `Calling ${tool[1]}.` });
          const args = tool[2]!;
          const cut = Math.floor(args.length / 2);
          send({ tool_calls: [{ index: 0, id: `call_${calls}`, type: 'function', function: { name: tool[1], arguments: '' } }] });
          send({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, cut) } }] });
          send({ tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] });
          send({}, 'tool_calls');
        } else {
          const reply = text.includes('/nul') ? `You\u0000 said:\u0000 "${text}"\u0000` : `You said: "${text}"`;
          for (const word of reply.split(/(?<= )/)) send({ content: word });
          send({}, 'stop');
        }
      }
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: request.model, choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext: (status) => failures.push(status),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
