import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { ROOT, startServer, type TestServer } from '../support/server.ts';

/**
 * @chat/client as a user outside this repository gets it: `npm pack`, the
 * tarball installed in an empty directory with only registry dependencies, a
 * strict TypeScript program (tests/client/outside/main.ts) type-checked
 * against the installed .d.ts and run against a live server.
 */
const run = promisify(execFile);
const CLIENT = path.join(ROOT, 'packages/client');
const OUTSIDE = path.join(ROOT, 'tests/client/outside');

let dir: string;
let tarball: string;
let packedFiles: string[];
let server: TestServer;

beforeAll(async () => {
  if (!existsSync(path.join(CLIENT, 'dist/index.d.ts'))) throw new Error('@chat/client is not built: node packages/client/build.mjs (npm test builds it first)');
  dir = mkdtempSync(path.join(os.tmpdir(), 'chat-client-outside-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: CLIENT });
  const [pack] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(dir, pack!.filename);
  packedFiles = pack!.files.map((f) => f.path);

  const app = path.join(dir, 'app');
  await run('mkdir', ['-p', app]);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'outside-app', private: true, type: 'module' }, null, 2));
  copyFileSync(path.join(OUTSIDE, 'main.ts'), path.join(app, 'main.ts'));
  copyFileSync(path.join(OUTSIDE, 'tsconfig.json'), path.join(app, 'tsconfig.json'));
  // Only the registry: the tarball's own dependencies, the EventSource for Node, TypeScript and Node's types.
  await run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', tarball, 'eventsource@4.1.1', 'typescript@5.9.3', '@types/node@20.19.25'], {
    cwd: app,
    env: { ...process.env, npm_config_workspaces: 'false' },
    timeout: 240_000,
  });

  server = await startServer({ databaseUrl: await createTestDatabase(), env: { LOCAL_MODEL_TOKEN_DELAY_MS: '10', CHECKPOINT_INTERVAL_MS: '100' } });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('@chat/client installed from its tarball outside the workspace', () => {
  it('ships the built JavaScript and bundled types, not the source', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/ai-sdk.js', 'dist/ai-sdk.d.ts']));
    expect(packedFiles.filter((f) => f.startsWith('src/') || f.startsWith('build/'))).toEqual([]);
    const installed = path.join(dir, 'app/node_modules/@chat/client');
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@trpc/client', '@trpc/server', 'superjson', 'zod']);
    // Nothing of the server: no workspace package and no path into this repository, in the code or the types.
    for (const file of readdirSync(path.join(installed, 'dist')).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
      const text = readFileSync(path.join(installed, 'dist', file), 'utf8');
      expect(text, file).not.toMatch(/@chat\/(api|core|db)|packages\/(api|core|db)|@prisma|better-auth/);
    }
    expect(existsSync(path.join(dir, 'app/node_modules/@chat/api'))).toBe(false);
  });

  it("the READMEs' example is the tested program's first part, as written", () => {
    const program = readFileSync(path.join(OUTSIDE, 'main.ts'), 'utf8');
    const [start, end] = ['// --- README example: start ---\n', '// --- README example: end ---'];
    const example = program.slice(program.indexOf(start) + start.length, program.indexOf(end)).trim();
    expect(example.startsWith('const chat = createChatClient({')).toBe(true);
    expect(example).toContain('chat.watch(');
    for (const readme of ['README.md', 'packages/client/README.md']) {
      expect(readFileSync(path.join(ROOT, readme), 'utf8'), readme).toContain(example);
    }
  });

  it("the README's useChat example is the tested /use-chat page's ChatPanel, as written", () => {
    const page = readFileSync(path.join(ROOT, 'apps/web/app/use-chat/page.tsx'), 'utf8');
    const panel = page.slice(page.indexOf('function ChatPanel('), page.indexOf("  const [input, setInput] = useState('');")).trim();
    expect(panel).toContain('new ChatServerTransport({ client })');
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(panel);
  });

  it('type-checks a strict program against the installed types', async () => {
    const app = path.join(dir, 'app');
    const tsc = (...args: string[]) =>
      run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), ...args], { cwd: app }).then(
        ({ stdout }) => stdout,
        (e: { stdout: string }) => e.stdout,
      );
    expect(await tsc('-p', 'tsconfig.json')).toBe('');
    expect(existsSync(path.join(app, 'dist/main.js'))).toBe(true);
    // With skipLibCheck off our bundled declarations are checked too: no error in them. (tRPC's own
    // .d.ts then wants the \`ws\` package's types: its problem, not ours, so only those lines may remain.)
    const strict = await tsc('-p', 'tsconfig.json', '--noEmit', '--skipLibCheck', 'false');
    const errors = strict.split('\n').filter((l) => /error TS/.test(l));
    expect(errors.filter((l) => !l.startsWith('node_modules/@trpc/server/dist/'))).toEqual([]);
  });

  it('a mistyped call is a compile error, so the router types really are there', async () => {
    const app = path.join(dir, 'app');
    writeFileSync(
      path.join(app, 'wrong.ts'),
      [
        "import { createChatClient } from '@chat/client';",
        "const chat = createChatClient({ url: 'http://localhost:3000' });",
        "await chat.chat.sendMessage.mutate({ contextId: 'c', content: 42 });",
        "await chat.context.nope.query();",
        'export {};',
      ].join('\n'),
    );
    writeFileSync(path.join(app, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', include: ['wrong.ts'], compilerOptions: { noEmit: true } }));
    const tsc = await run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.wrong.json'], { cwd: app }).then(
      () => ({ stdout: '' }),
      (e: { stdout: string }) => e,
    );
    expect(tsc.stdout).toMatch(/wrong\.ts\(3,.*error TS2322: Type 'number' is not assignable to type 'string'/);
    expect(tsc.stdout).toMatch(/wrong\.ts\(4,.*error TS2339: Property 'nope' does not exist/);
  });

  it('runs against a live server: create, send with a lost answer, watch, resume, approve, cancel', async () => {
    const app = path.join(dir, 'app');
    const token = await server.token('outside-user');
    const { stdout } = await run(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: { ...process.env, CHAT_URL: server.url, CHAT_TOKEN: token },
      timeout: 90_000,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
    expect(line, stdout).toBeDefined();
    const report = JSON.parse(line!.slice('REPORT '.length));
    // The README part printed the streamed reply.
    expect(stdout).toContain('You said: "Hello!"');

    // The first answer to the send was lost; the retry carried the same key and the server stored one copy.
    expect(report.retry.lostAnswers).toBe(1);
    expect(report.retry.replayed).toBe(true);
    expect(report.retry.storedCopies).toBe(1);
    expect(report.retry.reply).toHaveLength(1);
    expect(report.retry.reply[0].status).toBe('complete');

    // Resumed from a seq after the first part: the two parts join to the stored reply, no gap, no repeat.
    expect(report.resume.firstPart.length).toBeGreaterThanOrEqual(40);
    expect(report.resume.rest.length).toBeGreaterThan(0);
    expect(report.resume.reply).toHaveLength(1);
    expect(report.resume.firstPart + report.resume.rest).toBe(report.resume.reply[0].text);

    expect(report.approval.toolCallId).not.toBe('');
    expect(report.approval.status).toBe('succeeded');
    expect(report.approval.replyAfter.length).toBeGreaterThan(0);

    expect(report.cancel.runStatus).toBe('cancelled');
    expect(report.cancel.reply).toHaveLength(1);
    expect(report.cancel.reply[0].status).toBe('cancelled');
    expect(report.cancel.seen.length).toBeGreaterThan(0);
    // What the watcher saw is the start of what the server kept; the reply stopped well short of 400 words.
    expect(report.cancel.reply[0].text.startsWith(report.cancel.seen)).toBe(true);
    expect(report.cancel.reply[0].text.split(' ').length).toBeLessThan(400);

    expect(report.error).toBe('CONTEXT_NOT_FOUND');
  });
});
