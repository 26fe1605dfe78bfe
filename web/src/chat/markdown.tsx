import { Fragment, memo, type ReactNode } from 'react';

/**
 * A small markdown renderer for model replies that produces React elements only.
 *
 * Why not a markdown library + an HTML sanitizer, or `dangerouslySetInnerHTML`: model output is
 * untrusted text (a prompt injection can make a model write anything), and any path that turns
 * it into an HTML string hands the browser a parser we then have to out-guess. Here every piece
 * of text reaches the DOM as a React text child (escaped by React, never parsed as HTML), the
 * only elements are the fixed ones below, and the only attribute taken from the text is a link's
 * `href`, allowed for `http:` and `https:` URLs alone. What this does not understand stays
 * literal text, `<img src=x onerror=...>` included.
 *
 * Supported: paragraphs, line breaks, `#` headings, fenced code blocks, inline code, **bold**,
 * *italic* / _italic_, `-`/`*`/`+` bullet and `1.` numbered lists, `[text](https://…)` links.
 */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return <>{blocks(text)}</>; // memo: only the message whose text changed is parsed again
});

/** Only absolute http(s) URLs become links; `javascript:`, `data:`, relative paths and the rest stay text. */
export function safeHref(raw: string): string | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*)$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;

function blocks(text: string): ReactNode[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: ReactNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      // Everything up to the closing fence (or the end, while a reply still streams) is code, verbatim.
      const body: string[] = [];
      i++;
      while (i < lines.length && !(lines[i].trim().startsWith(fence[1]) && FENCE.test(lines[i]))) body.push(lines[i++]);
      i++;
      out.push(
        <pre key={out.length} className="md-code" data-lang={fence[2] || undefined}>
          <code>{body.join('\n')}</code>
        </pre>,
      );
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1].length;
      const Tag = `h${Math.min(6, level + 2)}` as 'h3' | 'h4' | 'h5' | 'h6'; // under the page's own h1/h2
      out.push(
        <Tag key={out.length} className="md-heading">
          {inline(heading[2])}
        </Tag>,
      );
      i++;
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      const numbered = !BULLET.test(line);
      const pattern = numbered ? NUMBERED : BULLET;
      const items: string[] = [];
      let start = 1;
      while (i < lines.length && pattern.test(lines[i])) {
        const m = pattern.exec(lines[i])!;
        if (numbered && items.length === 0) start = Number(m[1]);
        items.push(numbered ? m[2] : m[1]);
        i++;
      }
      const children = items.map((item, n) => <li key={n}>{inline(item)}</li>);
      out.push(
        numbered ? (
          <ol key={out.length} start={start === 1 ? undefined : start}>
            {children}
          </ol>
        ) : (
          <ul key={out.length}>{children}</ul>
        ),
      );
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    // A paragraph: consecutive lines that start no other block, joined by line breaks.
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() !== '' && !FENCE.test(lines[i]) && !HEADING.test(lines[i]) && !BULLET.test(lines[i]) && !NUMBERED.test(lines[i]))
      para.push(lines[i++]);
    out.push(
      <p key={out.length}>
        {para.map((l, n) => (
          <Fragment key={n}>
            {n > 0 && <br />}
            {inline(l)}
          </Fragment>
        ))}
      </p>,
    );
  }
  return out;
}

/** The inline spans, earliest first: `code`, [text](url), **bold**, *italic* or _italic_. */
// Every repetition is bounded: a model can be made to write a long line of `[` or `**` with no
// closing mark, and unbounded scans would re-read the rest of the line from each of them
// (quadratic, freezing the tab); bounded, each position costs at most a few thousand steps.
const INLINE =
  /`([^`\n]{1,2000})`|\[([^\]\n]{1,500})\]\(([^()\s]{1,2000})\)|\*\*(.{1,2000}?)\*\*|\*([^*\s](?:[^*]{0,2000}[^*\s])?)\*|(?<![\w])_([^_\s](?:[^_]{0,2000}[^_\s])?)_(?![\w])/;

function inline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let rest = text;
  while (rest.length > 0) {
    const m = INLINE.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    if (m.index > 0) out.push(rest.slice(0, m.index));
    const key = out.length;
    if (m[1] !== undefined) out.push(<code key={key}>{m[1]}</code>);
    else if (m[2] !== undefined) {
      const href = safeHref(m[3]);
      out.push(
        href ? (
          <a key={key} href={href} target="_blank" rel="noopener noreferrer nofollow">
            {inline(m[2])}
          </a>
        ) : (
          m[0] // not an http(s) URL: the whole `[text](url)` stays literal text
        ),
      );
    } else if (m[4] !== undefined) out.push(<strong key={key}>{inline(m[4])}</strong>);
    else out.push(<em key={key}>{inline(m[5] ?? m[6])}</em>);
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}
