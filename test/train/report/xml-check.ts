// A small XML well-formedness check for the SVG tests: one root, every tag closed in order,
// attributes quoted and unique, only the five predefined entities (or numeric ones) in text.

const NAME = /^[A-Za-z_][\w.:-]*$/;

export function checkWellFormedXml(xml: string): { root: string; elements: Map<string, number> } {
  let body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const elements = new Map<string, number>();
  let root = '';
  const tag = /<(\/?)([^\s/>]+)([^>]*?)(\/?)>/g;
  let last = 0;
  const checkText = (text: string): void => {
    if (/[<>]/.test(text)) throw new Error(`raw < or > in text: ${text.slice(0, 40)}`);
    for (const m of text.matchAll(/&([^;]*);?/g)) if (!/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+)$/.test(m[1]!) || !m[0].endsWith(';')) throw new Error(`bad entity ${m[0]}`);
  };
  body = body.trim();
  for (const m of body.matchAll(tag)) {
    checkText(body.slice(last, m.index));
    last = m.index! + m[0].length;
    const [, closing, name, attrs, selfClosing] = m as unknown as [string, string, string, string, string];
    if (!NAME.test(name)) throw new Error(`bad tag name ${name}`);
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
      continue;
    }
    if (stack.length === 0) {
      if (root) throw new Error('more than one root element');
      root = name;
    }
    const seen = new Set<string>();
    const rest = attrs.replace(/\s*([^\s=]+)="([^"]*)"/g, (_all, key: string, value: string) => {
      if (seen.has(key)) throw new Error(`duplicate attribute ${key} on <${name}>`);
      seen.add(key);
      checkText(value);
      return '';
    });
    if (rest.trim() !== '') throw new Error(`unquoted or malformed attributes on <${name}>: ${rest}`);
    elements.set(name, (elements.get(name) ?? 0) + 1);
    if (!selfClosing) stack.push(name);
  }
  if (body.slice(last).trim() !== '') throw new Error('text after the root element');
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  return { root, elements };
}
