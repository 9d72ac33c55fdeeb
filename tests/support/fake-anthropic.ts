import { createServer, type Server } from 'node:http';

/**
 * A local HTTP server speaking Anthropic's Messages API streaming wire format
 * (`event:` + `data:` SSE: message_start, content_block_*, message_delta,
 * message_stop), tool_use blocks with input_json_delta pieces included.
 */
export interface FakeAnthropic {
  baseURL: string;
  requests: { headers: Record<string, string | string[] | undefined>; body: { model: string; system?: unknown; messages: { role: string; content: unknown }[] } }[];
  close(): Promise<void>;
}

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: FakeAnthropic['requests'] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/messages')) return void res.writeHead(404).end();
      const body = JSON.parse(raw);
      requests.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (event: string, data: object) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
      const id = `msg_${++calls}`;
      send('message_start', {
        message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 0 } },
      });
      const last = body.messages.at(-1);
      const blocks = Array.isArray(last.content) ? last.content : [{ type: 'text', text: last.content }];
      const toolResult = blocks.find((b: { type: string }) => b.type === 'tool_result');
      const text = blocks.filter((b: { type: string }) => b.type === 'text').map((b: { text: string }) => b.text).join('');
      const tool = text.match(/^\/tool (\w+) (.*)$/m);
      const reply = toolResult ? `Tool result: ${JSON.stringify(toolResult.content)}` : tool ? `Calling ${tool[1]}.` : `You said: "${text}"`;
      send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      for (const word of reply.split(/(?<= )/)) send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } });
      send('content_block_stop', { index: 0 });
      if (tool && !toolResult) {
        const args = tool[2]!;
        send('content_block_start', { index: 1, content_block: { type: 'tool_use', id: `toolu_${calls}`, name: tool[1], input: {} } });
        send('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(0, 5) } });
        send('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(5) } });
        send('content_block_stop', { index: 1 });
      }
      send('message_delta', { delta: { stop_reason: tool && !toolResult ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } });
      send('message_stop', {});
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
