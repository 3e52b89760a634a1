/**
 * A reader for the small YAML subset that suricata-verify test files use: block mappings, block sequences
 * (items may open a mapping on the dash line), plain / single-quoted / double-quoted scalars, flow sequences of
 * scalars (`["a", "b"]`) and `#` comments. Anchors, tags, multi-line scalars and flow mappings are not
 * supported: a line that cannot be read becomes a string value, never an exception.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly indent: number;
  readonly text: string;
}

/** Parses the text; returns null for an empty document. */
export function parseYamlSubset(text: string): YamlValue {
  const lines: Line[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const stripped = stripComment(raw).replace(/\s+$/, '');
    if (stripped.trim() === '' || stripped.trim() === '---') continue;
    const indent = stripped.length - stripped.trimStart().length;
    lines.push({ indent, text: stripped.trimStart() });
  }
  const cursor = { index: 0 };
  if (lines.length === 0) return null;
  return parseBlock(lines, cursor, lines[0]?.indent ?? 0);
}

function parseBlock(lines: readonly Line[], cursor: { index: number }, indent: number): YamlValue {
  const first = lines[cursor.index];
  if (first === undefined) return null;
  if (first.text.startsWith('- ') || first.text === '-') return parseSequence(lines, cursor, indent);
  return parseMapping(lines, cursor, indent);
}

function parseSequence(lines: readonly Line[], cursor: { index: number }, indent: number): YamlValue[] {
  const items: YamlValue[] = [];
  for (let line = lines[cursor.index]; line !== undefined; line = lines[cursor.index]) {
    if (line.indent !== indent || !(line.text.startsWith('- ') || line.text === '-')) break;
    const rest = line.text === '-' ? '' : line.text.slice(2).trimStart();
    const restIndent = indent + (line.text.length - rest.length);
    if (rest === '') {
      cursor.index++;
      const next = lines[cursor.index];
      items.push(next !== undefined && next.indent > indent ? parseBlock(lines, cursor, next.indent) : null);
    } else if (isMappingStart(rest)) {
      // "- key: value" opens a mapping whose keys sit at the column of `key`.
      const synthetic: Line[] = [{ indent: restIndent, text: rest }];
      cursor.index++;
      while (cursor.index < lines.length && (lines[cursor.index]?.indent ?? 0) > indent) {
        const l = lines[cursor.index];
        if (l !== undefined) synthetic.push(l);
        cursor.index++;
      }
      items.push(parseMapping(synthetic, { index: 0 }, restIndent));
    } else {
      items.push(parseScalar(rest));
      cursor.index++;
    }
  }
  return items;
}

function parseMapping(
  lines: readonly Line[],
  cursor: { index: number },
  indent: number,
): { [key: string]: YamlValue } {
  const map: { [key: string]: YamlValue } = {};
  for (let line = lines[cursor.index]; line !== undefined; line = lines[cursor.index]) {
    if (line.indent !== indent) break;
    const colon = findMappingColon(line.text);
    if (colon < 0) {
      cursor.index++;
      continue;
    }
    const key = unquote(line.text.slice(0, colon).trim());
    const rest = line.text.slice(colon + 1).trim();
    cursor.index++;
    if (rest !== '') {
      map[key] = parseScalar(rest);
      continue;
    }
    const next = lines[cursor.index];
    if (
      next !== undefined &&
      (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))
    ) {
      map[key] = parseBlock(lines, cursor, next.indent);
    } else {
      map[key] = null;
    }
  }
  return map;
}

function isMappingStart(text: string): boolean {
  return findMappingColon(text) > 0;
}

/**
 * Index of the `:` that ends a mapping key (followed by a space or the end of the line), outside quotes.
 * Brackets count only at the start of the text, where they open a flow collection.
 */
function findMappingColon(text: string): number {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== '') {
      if (c === quote) quote = '';
      continue;
    }
    if (i === 0 && (c === '"' || c === "'")) {
      quote = c;
      continue;
    }
    // A line that opens with a bracket is a flow collection; inside a key (`smtp.rcpt_to[0]`) it is text.
    if (i === 0 && (c === '[' || c === '{')) return -1;
    if (c === ':' && (i + 1 === text.length || text[i + 1] === ' ')) return i;
  }
  return -1;
}

function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) {
      return line.slice(0, i);
    }
  }
  return line;
}

function parseScalar(text: string): YamlValue {
  const t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) {
    const inner = t.slice(1, -1).trim();
    if (inner === '') return [];
    return splitFlow(inner).map((item) => parseScalar(item));
  }
  if (t.startsWith('"') || t.startsWith("'")) return unquote(t);
  if (t === 'null' || t === '~') return null;
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^-?\d+$/.test(t)) return Number(t);
  return t;
}

function splitFlow(inner: string): string[] {
  const out: string[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ',') {
      out.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(inner.slice(start).trim());
  return out;
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text
      .slice(1, -1)
      .replace(/\\(["\\nt])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  if (text.length >= 2 && text.startsWith("'") && text.endsWith("'"))
    return text.slice(1, -1).replace(/''/g, "'");
  return text;
}
