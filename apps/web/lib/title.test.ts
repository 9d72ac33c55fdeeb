import { describe, expect, it } from 'vitest';
import { DEFAULT_TITLE, titleFrom } from './title';

describe('chat titles from the first message', () => {
  it('strips Markdown', () => {
    expect(titleFrom('# Heading\nbody')).toBe('Heading');
    expect(titleFrom('## **Bold** and _em_ with `code` and [a link](http://x)')).toBe('Bold and em with code and a link');
    expect(titleFrom('- [ ] a task')).toBe('a task');
    expect(titleFrom('> quoted')).toBe('quoted');
    expect(titleFrom('```ts\nconst x = 1;\n```')).toBe('const x = 1;');
  });
  it('names slash commands by what they do', () => {
    expect(titleFrom('/tool save_note {"title":"Idea","body":"x"}')).toBe('Tool: save note');
    expect(titleFrom('/echo # Release notes\n- one')).toBe('Release notes');
    expect(titleFrom('/long 300 tell me a story')).toBe('tell me a story');
  });
  it('skips empty lines, shortens long ones, falls back to the default', () => {
    expect(titleFrom('\n\n  hello   world  ')).toBe('hello world');
    const long = titleFrom('x'.repeat(100));
    expect(long.length).toBeLessThanOrEqual(60);
    expect(long.endsWith('…')).toBe(true);
    expect(titleFrom('   \n#  \n')).toBe(DEFAULT_TITLE);
    expect(titleFrom('/long 20')).toBe(DEFAULT_TITLE);
  });
});
