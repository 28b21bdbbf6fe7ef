/**
 * A strict-enough XML well-formedness check for the generated SVG (no XML parser is installed): one root element,
 * matched tags, quoted attributes without `<` or duplicate names, only valid entity and character references,
 * no raw `<` or `&` in text. Returns the element tree with entities decoded, for assertions on content.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Decoded text directly inside this element. */
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  return raw.replace(/&([^;]*);?/g, (match, ref: string) => {
    if (!match.endsWith(';')) throw new Error(`bare & in ${where}: ${JSON.stringify(raw.slice(0, 80))}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const code = /^#x[0-9A-Fa-f]+$/.test(ref) ? parseInt(ref.slice(2), 16) : /^#[0-9]+$/.test(ref) ? parseInt(ref.slice(1), 10) : NaN;
    if (Number.isNaN(code)) throw new Error(`unknown entity &${ref}; in ${where}`);
    return String.fromCodePoint(code);
  });
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  const skip = (re: RegExp) => {
    const m = re.exec(xml.slice(i));
    if (m) i += m[0].length;
    return m;
  };
  skip(/^<\?xml[^?]*\?>/);
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  while (i < xml.length) {
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('</', i)) {
      i += 2;
      const name = skip(NAME)?.[0];
      skip(/^\s*/);
      if (xml[i] !== '>') throw new Error(`malformed end tag at ${i}`);
      i++;
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}> at ${i}`);
    } else if (xml[i] === '<') {
      i++;
      const name = skip(NAME)?.[0];
      if (!name) throw new Error(`malformed start tag at ${i}`);
      if (root && stack.length === 0) throw new Error(`second root element <${name}>`);
      const el: XmlElement = { name, attrs: {}, children: [], text: '' };
      for (;;) {
        const ws = skip(/^\s*/)![0];
        if (xml.startsWith('/>', i) || xml[i] === '>') break;
        if (!ws) throw new Error(`attributes of <${name}> not separated at ${i}`);
        const attr = skip(NAME)?.[0];
        if (!attr) throw new Error(`malformed attribute in <${name}> at ${i}`);
        const value = skip(/^\s*=\s*("[^"<]*"|'[^'<]*')/);
        if (!value) throw new Error(`attribute ${attr} of <${name}> is not quoted, or holds "<", at ${i}`);
        if (attr in el.attrs) throw new Error(`duplicate attribute ${attr} in <${name}>`);
        el.attrs[attr] = decode(value[1]!.slice(1, -1), `attribute ${attr}`);
      }
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else root = el;
      if (xml.startsWith('/>', i)) i += 2;
      else {
        i++;
        stack.push(el);
      }
    } else {
      const end = xml.indexOf('<', i);
      const raw = xml.slice(i, end < 0 ? xml.length : end);
      i += raw.length;
      if (stack.length) stack[stack.length - 1]!.text += decode(raw, `text of <${stack[stack.length - 1]!.name}>`);
      else if (raw.trim()) throw new Error(`text outside the root element: ${JSON.stringify(raw.slice(0, 40))}`);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Every element below `el` (depth-first, document order) for which `match` holds. */
export function findAll(el: XmlElement, match: (e: XmlElement) => boolean): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (match(c)) found.push(c);
      walk(c);
    }
  };
  walk(el);
  return found;
}
