/**
 * The title of a chat, from its first message: the first line that says
 * something, without Markdown syntax (headings, emphasis, code, links, list
 * and quote markers) and without slash commands (`/tool save_note {...}` is
 * named after the tool). The one place this rule lives.
 */
export const DEFAULT_TITLE = 'New chat';
const MAX_TITLE = 60;

export function titleFrom(content: string): string {
  for (const raw of content.split('\n')) {
    const line = plainLine(raw);
    if (line) return line.length > MAX_TITLE ? `${line.slice(0, MAX_TITLE - 1).trimEnd()}…` : line;
  }
  return DEFAULT_TITLE;
}

function plainLine(raw: string): string {
  let line = raw.trim();
  if (/^(```|~~~)/.test(line)) return ''; // a code fence line
  const command = line.match(/^\/(\w+)\s*(.*)$/);
  if (command) {
    const [, name, rest] = command;
    if (name === 'tool') {
      const tool = rest!.match(/^([\w.-]+)/)?.[1];
      return tool ? `Tool: ${tool.replaceAll('_', ' ')}` : '';
    }
    if (name === 'echo') line = rest!;
    else line = rest!.replace(/^\d+\s*/, ''); // `/long 300 text` -> `text`
  }
  return line
    .replace(/^#{1,6}(\s+|$)/, '') // heading
    .replace(/^>\s?/, '') // quote
    .replace(/^([-*+]|\d+[.)])\s+(\[[ xX]\]\s+)?/, '') // list item, task
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1') // image
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // link
    .replace(/`+([^`]*)`+/g, '$1') // inline code
    .replace(/(\*\*|__|~~)(.*?)\1/g, '$2') // bold, strike
    .replace(/(^|\W)[*_](\S.*?)[*_](?=\W|$)/g, '$1$2') // emphasis
    .replace(/<[^>]+>/g, '') // html tags
    .replace(/\s+/g, ' ')
    .trim();
}
