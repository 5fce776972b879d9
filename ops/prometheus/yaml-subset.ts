/**
 * A reader for the YAML that ops/prometheus writes (rule files and promtool unit tests), so tests can
 * inspect them without a YAML dependency. It covers block mappings and sequences (including
 * `- key: value` items), comments, plain and quoted scalars, literal (`|`) and folded (`>`) block
 * scalars with `-`/`+` chomping, and the empty flow collections `[]` and `{}`. Every scalar stays a
 * string. Anything else (anchors, tags, flow collections with content, multi-line plain scalars,
 * documents) throws with the line number rather than being read wrong; promtool remains the judge
 * of what Prometheus accepts.
 */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  /** Column of the first character of `text`. */
  indent: number;
  /** The line from `indent` on, comment and trailing blanks removed (raw for block scalars). */
  text: string;
  raw: string;
  no: number;
}

/** The line without a trailing comment: `#` at the start or after a blank, outside quotes. */
function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) return s.slice(0, i).trimEnd();
  }
  return s.trimEnd();
}

const KEY = /^((?:'[^']*')+|"(?:[^"\\]|\\.)*"|[^\s'"#\-?:,[\]{}&*!|>%@`][^:]*?|-[^\s:][^:]*?)\s*:(?:\s+(.*))?$/;

class Reader {
  private readonly lines: Line[];
  private i = 0;

  constructor(
    source: string,
    private readonly file: string,
  ) {
    this.lines = source.split(/\r?\n/).map((raw, n) => {
      const content = raw.replace(/^ */, '');
      if (content.startsWith('\t')) this.fail(n + 1, 'tabs are not allowed for indentation');
      return { indent: raw.length - content.length, text: stripComment(content), raw, no: n + 1 };
    });
  }

  fail(no: number, message: string): never {
    throw new Error(`${this.file}:${no}: ${message}`);
  }

  /** The next line that holds something, skipping blanks and comments. */
  private peek(): Line | undefined {
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line.text === '' || line.text === '---') this.i++;
      else return line;
    }
    return undefined;
  }

  document(): YamlValue {
    const first = this.peek();
    if (!first) return '';
    const value = this.node(first.indent);
    const rest = this.peek();
    if (rest) this.fail(rest.no, 'unexpected indentation');
    return value;
  }

  private isItem(line: Line): boolean {
    return line.text === '-' || line.text.startsWith('- ');
  }

  private node(indent: number): YamlValue {
    const line = this.peek();
    if (!line) return '';
    if (line.indent !== indent) this.fail(line.no, `expected indentation ${indent}, found ${line.indent}`);
    if (this.isItem(line)) return this.sequence(indent);
    if (KEY.test(line.text)) return this.mapping(indent);
    this.i++;
    return this.scalar(line.text, line);
  }

  private sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (let line = this.peek(); line && line.indent === indent && this.isItem(line); line = this.peek()) {
      const after = line.text.slice(1).replace(/^ +/, '');
      if (after === '') {
        this.i++;
        const next = this.peek();
        out.push(next && next.indent > indent ? this.node(next.indent) : '');
        continue;
      }
      // The item's content starts a node at its own column: rewrite the line as if it began there.
      const column = indent + (line.text.length - after.length);
      this.lines[this.i] = { ...line, indent: column, text: after };
      out.push(this.node(column));
    }
    return out;
  }

  private mapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    for (let line = this.peek(); line && line.indent === indent && !this.isItem(line); line = this.peek()) {
      const m = KEY.exec(line.text);
      if (!m) this.fail(line.no, `expected "key: value", found "${line.text}"`);
      const key = this.text(m[1], line);
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(line.no, `duplicate key "${key}"`);
      const rest = m[2] ?? '';
      this.i++;
      if (/^[|>][-+]?$/.test(rest)) out[key] = this.block(indent, rest, line);
      else if (rest !== '') out[key] = this.scalar(rest, line);
      else {
        const next = this.peek();
        if (next && next.indent > indent) out[key] = this.node(next.indent);
        else if (next && next.indent === indent && this.isItem(next)) out[key] = this.sequence(indent);
        else out[key] = '';
      }
    }
    const next = this.peek();
    if (next && next.indent > indent) this.fail(next.no, 'unexpected indentation (a multi-line plain scalar?)');
    return out;
  }

  /** A `|` or `>` block scalar: the following lines indented deeper than its key (or blank). */
  private block(parentIndent: number, header: string, at: Line): string {
    const body: string[] = [];
    let contentIndent: number | undefined;
    while (this.i < this.lines.length) {
      const { raw, indent } = this.lines[this.i];
      if (raw.trim() === '') {
        body.push('');
        this.i++;
        continue;
      }
      if (indent <= parentIndent) break;
      contentIndent ??= indent;
      if (indent < contentIndent) this.fail(this.i + 1, 'a block scalar line is indented less than its first line');
      body.push(raw.slice(contentIndent));
      this.i++;
    }
    if (contentIndent === undefined) this.fail(at.no, 'an empty block scalar');
    let end = body.length;
    while (end > 0 && body[end - 1] === '') end--;
    const trailing = body.slice(end);
    const lines = body.slice(0, end);
    let text: string;
    if (header[0] === '|') text = lines.join('\n');
    else {
      // Folding: a single line break between two text lines becomes a space; a blank line stays a break.
      // Lines indented deeper than the first keep their breaks.
      text = lines[0] ?? '';
      for (let k = 1; k < lines.length; k++) {
        const l = lines[k];
        const prev = lines[k - 1];
        if (l === '') text += '\n';
        else if (prev === '') text += l;
        else if (l.startsWith(' ') || prev.startsWith(' ')) text += `\n${l}`;
        else text += ` ${l}`;
      }
    }
    if (header.endsWith('-')) return text;
    if (header.endsWith('+')) return `${text}\n${trailing.map(() => '\n').join('')}`;
    return `${text}\n`;
  }

  /** A scalar in value position: `[]` and `{}` are the empty collections, anything else a string. */
  private scalar(s: string, line: Line): YamlValue {
    if (s === '[]') return [];
    if (s === '{}') return {};
    if (/^[[{&*!|>%@`]/.test(s)) this.fail(line.no, `unsupported YAML (flow collection, anchor, alias or tag): ${s}`);
    return this.text(s, line);
  }

  private text(s: string, line: Line): string {
    if (s.startsWith("'")) {
      if (!/^'(?:[^']|'')*'$/.test(s)) this.fail(line.no, `unterminated single-quoted scalar ${s}`);
      return s.slice(1, -1).replace(/''/g, "'");
    }
    if (s.startsWith('"')) {
      try {
        return JSON.parse(s) as string;
      } catch {
        this.fail(line.no, `a double-quoted scalar outside the JSON escapes: ${s}`);
      }
    }
    return s;
  }
}

/** Reads `source` (named `file` in errors) into strings, arrays and objects. */
export function parseYaml(source: string, file = 'yaml'): YamlValue {
  return new Reader(source, file).document();
}
