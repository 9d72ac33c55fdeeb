import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { ROOT, startServer, waitFor, waitIdle, type Client, type TestServer } from '../support/server.ts';

/**
 * examples/cli driven as a user drives it, through its stdin and stdout (a
 * pipe, not a terminal: Ctrl-C is a SIGINT), against a live server whose
 * local model writes a word every 20 ms.
 */
const CLI = path.join(ROOT, 'examples/cli/src/main.ts');
const USER = 'cli-user';

let server: TestServer;
let token: string;
let client: Client;
const running = new Set<Cli>();

beforeAll(async () => {
  server = await startServer({
    databaseUrl: await createTestDatabase(),
    env: { LOCAL_MODEL_TOKEN_DELAY_MS: '20', CHECKPOINT_INTERVAL_MS: '200' },
  });
  token = await server.token(USER);
  client = server.client(USER);
});
afterEach(() => {
  for (const cli of running) cli.child.kill('SIGKILL');
  running.clear();
});
afterAll(async () => {
  await server?.stop();
});

class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  /** Every stdout chunk, in order, with where it starts in `out`. */
  readonly chunks: { at: number; text: string }[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string | undefined> = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, CHAT_URL: server.url, CHAT_TOKEN: token, ...env },
      stdio: 'pipe',
    });
    this.child.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.chunks.push({ at: this.out.length, text });
      this.out += text;
    });
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => (this.err += text));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    running.add(this);
  }

  /** Waits for `text` in stdout after position `from`; returns where it starts. */
  async until(text: string | RegExp, from = 0, timeoutMs = 20_000): Promise<number> {
    return waitFor(
      async () => {
        const rest = this.out.slice(from);
        const at = typeof text === 'string' ? rest.indexOf(text) : rest.search(text);
        return at >= 0 ? from + at + 1 : null; // +1: 0 would read as "not yet"
      },
      { timeoutMs, intervalMs: 20, what: `${String(text)} in the CLI's output:\n${this.out}\n${this.err}` },
    ).then((at) => at - 1);
  }

  /** Types a line and waits for the reply to end at the next prompt; returns the output in between. */
  async say(text: string): Promise<string> {
    const from = this.out.length;
    this.child.stdin.write(`${text}\n`);
    const end = await this.until('\nyou> ', from, 40_000);
    return this.out.slice(from, end + 1);
  }

  async opened(): Promise<string> {
    const at = await this.until(/\[chat \S+\]/);
    await this.until('you> ', at);
    return /\[chat (\S+)\]/.exec(this.out.slice(at))![1]!;
  }
}

/** The reply's text as the CLI printed it: after `assistant> `, up to the end of its line(s). */
const printedReply = (output: string) => {
  const start = output.lastIndexOf('assistant> ');
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = output.slice(start + 'assistant> '.length);
  const end = rest.search(/\n(\[|you> |$)/);
  return end >= 0 ? rest.slice(0, end) : rest;
};

const textOf = (parts: ReadonlyArray<{ type: string; text?: string }>) => parts.map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');

async function lastReply(contextId: string) {
  const { messages } = await client.context.get.query({ contextId });
  const reply = messages.filter((m) => m.role === 'assistant').at(-1)!;
  return { ...reply, text: textOf(reply.parts) };
}

/** A TCP proxy in front of the server whose connections the test can cut. */
async function startProxy(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const proxy = net.createServer((downstream) => {
    connections++;
    const upstream = net.connect(Number(port), hostname);
    sockets.add(downstream).add(upstream);
    const close = () => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(downstream);
      sockets.delete(upstream);
    };
    for (const s of [downstream, upstream]) s.on('error', close).on('close', close);
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`,
    connections: () => connections,
    drop: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

describe('examples/cli through its stdin and stdout', () => {
  it('streams a reply in several chunks, printed exactly as the server stored it', async () => {
    // A new user has no chats: the CLI starts one.
    const cli = new Cli([]);
    await cli.until('[no chats yet: starting a new one]');
    const contextId = await cli.opened();

    const from = cli.out.length;
    const output = await cli.say('stream this /long 40');
    const printed = printedReply(output);
    const stored = await lastReply(contextId);
    expect(stored.status).toBe('complete');
    expect(stored.text.startsWith('You said: "stream this /long 40"')).toBe(true);
    expect(printed).toBe(stored.text);
    // It streamed: the reply's text came in many pieces, not at once at the end.
    const replyStart = cli.out.indexOf('assistant> ', from);
    const replyChunks = cli.chunks.filter((c) => c.at + c.text.length > replyStart && c.at < replyStart + 'assistant> '.length + printed.length);
    expect(replyChunks.length).toBeGreaterThan(5);

    // EOF at the prompt exits cleanly.
    cli.child.stdin.end();
    expect(await cli.exited).toBe(0);
    expect(cli.out).toContain('[bye]');
  });

  it('lists the chats to pick one by number, follows a reply already under way, and shows what is sent elsewhere', async () => {
    const { context } = await client.context.create.mutate({ title: 'Picked by number' });
    // A reply started before the CLI opens the chat, waiting for an approval (so it is surely still under way).
    await client.send(context.id, '/tool save_note {"title":"Before","body":"the CLI opened"}');
    await waitFor(async () => (await client.context.state.query({ contextId: context.id })).state.type === 'AwaitingToolApproval', { what: 'the approval' });

    const cli = new Cli([]);
    await cli.until('Your chats:');
    const prompt = await cli.until('pick a chat');
    const entry = cli.out.slice(0, prompt).split('\n').find((l) => l.includes(context.id))!;
    expect(entry).toContain('Picked by number');
    cli.child.stdin.write(`${/^\s*(\d+)\)/.exec(entry)![1]}\n`);
    const opened = await cli.until(/\[chat \S+\]/);
    expect(cli.out.slice(opened)).toMatch(new RegExp(`^\\[chat ${context.id}\\]`));
    await cli.until('[a reply is under way]', opened);
    await cli.until('[approve tool save_note? y/n] ', opened);
    const answered = await cli.say('y');
    expect(answered).toContain('[tool save_note succeeded:');
    expect(printedReply(answered)).toBe((await lastReply(context.id)).text);

    // The chat is live: a message sent elsewhere (here: another client) and its reply show up.
    const from = cli.out.length;
    await client.send(context.id, 'sent from the web app /long 30');
    const shown = await cli.until('[from elsewhere] you: sent from the web app /long 30', from);
    await waitIdle(client, context.id);
    const stored = await lastReply(context.id);
    await cli.until(stored.text, shown);
    expect(printedReply(cli.out.slice(shown))).toBe(stored.text);

    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('asks before a tool that needs approval: y runs it and the reply goes on; n denies it', async () => {
    const cli = new Cli(['--new']);
    const contextId = await cli.opened();

    const from = cli.out.length;
    cli.child.stdin.write('/tool save_note {"title":"From the CLI","body":"approved with y"}\n');
    await cli.until('[approve tool save_note? y/n] ', from);
    const state = await client.context.state.query({ contextId });
    expect(state.state.type).toBe('AwaitingToolApproval');
    expect(state.pendingToolCalls).toEqual([{ id: expect.any(String), name: 'save_note', args: { title: 'From the CLI', body: 'approved with y' } }]);

    const output = await cli.say('y');
    expect(output).toMatch(/\[tool save_note succeeded: \{"saved":true,"noteId":"note_[^"]+","title":"From the CLI"\}\]/);
    const stored = await lastReply(contextId);
    expect(stored.text).toMatch(/^Tool save_note returned: /);
    expect(printedReply(output)).toBe(stored.text);
    const { toolCalls, run } = await client.run.latest.query({ contextId });
    expect(run?.status).toBe('completed');
    expect(toolCalls.map((t) => [t.name, t.status])).toEqual([['save_note', 'succeeded']]);

    const second = cli.out.length;
    cli.child.stdin.write('/tool save_note {"title":"Not this one","body":"x"}\n');
    await cli.until('[approve tool save_note? y/n] ', second);
    const denied = await cli.say('n');
    expect(denied).toContain('[tool save_note denied]');
    expect((await lastReply(contextId)).text).toBe('Tool save_note was denied: denied in the terminal');
    expect(printedReply(denied)).toBe('Tool save_note was denied: denied in the terminal');
    const latest = await client.run.latest.query({ contextId });
    expect(latest.toolCalls.map((t) => [t.name, t.status])).toEqual([['save_note', 'denied']]);
  });

  it('Ctrl-C while a reply streams cancels it, keeps the partial reply, and the CLI carries on', async () => {
    const cli = new Cli(['--new']);
    const contextId = await cli.opened();

    const from = cli.out.length;
    cli.child.stdin.write('cancel me /long 2000\n');
    const start = await cli.until('assistant> ', from);
    // Some words in: well past the echo of the message.
    await waitFor(async () => cli.out.slice(start).split(/\s+/).length > 20, { what: 'the reply to stream' });
    cli.child.kill('SIGINT');
    const cancelledAt = await cli.until('[cancelled]', start);
    expect(cli.out.slice(cancelledAt, await cli.until('you> ', cancelledAt))).toBe('[cancelled]\n');
    const printed = printedReply(cli.out.slice(from, cancelledAt));

    await waitIdle(client, contextId);
    const { run } = await client.run.latest.query({ contextId });
    expect(run?.status).toBe('cancelled');
    const stored = await lastReply(contextId);
    expect(stored.status).toBe('cancelled');
    // The partial reply stays, and the CLI showed exactly what was kept: nothing of it is printed after [cancelled].
    expect(printed).toBe(stored.text);
    const words = stored.text.split(/\s+/).length;
    expect(words).toBeGreaterThan(20);
    expect(words).toBeLessThan(1000);

    // Still usable: the next message gets its reply.
    const next = await cli.say('still here');
    // Only its reply: no late words of the cancelled one.
    expect(next).toBe('\nassistant> You said: "still here"\n');
    expect((await lastReply(contextId)).text).toBe('You said: "still here"');

    // Ctrl-C at the prompt quits cleanly.
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('resumes after its connection drops mid-reply without printing anything twice', async () => {
    const proxy = await startProxy(server.url);
    try {
      const cli = new Cli(['--new'], { CHAT_URL: proxy.url });
      const contextId = await cli.opened();
      const from = cli.out.length;
      cli.child.stdin.write('resume /long 150\n');
      const start = await cli.until('assistant> ', from);
      await waitFor(async () => cli.out.slice(start).split(/\s+/).length > 20, { what: 'the reply to stream' });
      const before = proxy.connections();
      const printedAtDrop = cli.out.length;
      proxy.drop();
      const end = await cli.until('\nyou> ', printedAtDrop, 40_000);
      // It reconnected (a new connection through the proxy: the rest of the reply came over it).
      expect(proxy.connections()).toBeGreaterThan(before);
      const printed = printedReply(cli.out.slice(from, end + 1));
      const stored = await lastReply(contextId);
      expect(stored.status).toBe('complete');
      expect(stored.text.split(/\s+/)).toHaveLength(150);
      // The reply was far from over when the connection dropped.
      expect(printedAtDrop - start).toBeLessThan(stored.text.length / 2);
      // Every character once: no repeat, no gap.
      expect(printed).toBe(stored.text);
    } finally {
      await proxy.close();
    }
  });

  it('says what is wrong (no token, a wrong token, an unknown chat) in words and exits non-zero', async () => {
    const missing = new Cli([], { CHAT_TOKEN: '' });
    const wrong = new Cli([], { CHAT_TOKEN: 'chat_not-a-real-token' });
    const unknown = new Cli(['--chat', 'ctx_does_not_exist']);
    expect(await missing.exited).toBe(2);
    expect(missing.err).toContain('CHAT_TOKEN is not set');
    expect(await wrong.exited).toBe(1);
    expect(wrong.err).toContain('the server did not accept CHAT_TOKEN');
    expect(await unknown.exited).toBe(1);
    expect(unknown.err).toContain('there is no such chat');
  });
});
