'use strict';
/**
 * A strict little XML parser, enough to check that the SVGs we write are well-formed: one root
 * element, properly nested and closed tags, quoted and unique attributes, known entities only.
 * It returns the element tree ({ name, attrs, children, text }) so tests can inspect it.
 * Not a general XML parser: no DTDs, no CDATA, no namespaces processing (prefixes are kept as is).
 */

const NAME = /^[A-Za-z_:][\w:.-]*/;
const ENTITY = /^&(?:lt|gt|amp|quot|apos|#\d+|#x[0-9A-Fa-f]+);/;

function fail(msg, pos) {
  throw Object.assign(new Error(`XML not well-formed at offset ${pos}: ${msg}`), { code: 'EXML' });
}

function checkText(text, pos) {
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    if (!ENTITY.test(text.slice(i))) fail(`bad entity reference "${text.slice(i, i + 10)}"`, pos + i);
  }
  if (text.includes('<')) fail('stray "<"', pos);
}

function parseXml(src) {
  let i = 0;
  const skipWs = () => { while (i < src.length && /\s/.test(src[i])) i++; };
  // Prolog: optional XML declaration, comments, whitespace.
  skipWs();
  if (src.startsWith('<?xml', i)) {
    const end = src.indexOf('?>', i);
    if (end === -1) fail('unterminated XML declaration', i);
    i = end + 2;
  }
  const skipMisc = () => {
    for (;;) {
      skipWs();
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end === -1) fail('unterminated comment', i);
        i = end + 3;
      } else return;
    }
  };
  skipMisc();
  if (src[i] !== '<') fail('no root element', i);
  const root = parseElement();
  skipMisc();
  if (i !== src.length) fail('content after the root element', i);
  return root;

  function parseElement() {
    const start = i;
    i++; // '<'
    const m = NAME.exec(src.slice(i));
    if (!m) fail('bad element name', i);
    const el = { name: m[0], attrs: {}, children: [], text: '' };
    i += m[0].length;
    for (;;) {
      const before = i;
      skipWs();
      if (src.startsWith('/>', i)) { i += 2; return el; }
      if (src[i] === '>') { i++; break; }
      if (i === before) fail(`expected whitespace, ">" or "/>" in <${el.name}>`, i);
      const a = NAME.exec(src.slice(i));
      if (!a) fail(`bad attribute in <${el.name}>`, i);
      i += a[0].length;
      skipWs();
      if (src[i] !== '=') fail(`attribute ${a[0]} without "="`, i);
      i++;
      skipWs();
      const q = src[i];
      if (q !== '"' && q !== "'") fail(`unquoted value for ${a[0]}`, i);
      const end = src.indexOf(q, i + 1);
      if (end === -1) fail(`unterminated value for ${a[0]}`, i);
      const value = src.slice(i + 1, end);
      checkText(value, i + 1);
      if (Object.prototype.hasOwnProperty.call(el.attrs, a[0])) fail(`duplicate attribute ${a[0]}`, i);
      el.attrs[a[0]] = value;
      i = end + 1;
    }
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt === -1) fail(`<${el.name}> opened at ${start} is never closed`, start);
      const text = src.slice(i, lt);
      checkText(text, i);
      el.text += text;
      i = lt;
      if (src.startsWith('</', i)) {
        const close = /^<\/([A-Za-z_:][\w:.-]*)\s*>/.exec(src.slice(i));
        if (!close) fail('bad closing tag', i);
        if (close[1] !== el.name) fail(`</${close[1]}> closes <${el.name}>`, i);
        i += close[0].length;
        return el;
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end === -1) fail('unterminated comment', i);
        i = end + 3;
        continue;
      }
      el.children.push(parseElement());
    }
  }
}

/** Every element in the tree (depth first) whose name is `name`. */
function findAll(el, name, out = []) {
  if (el.name === name) out.push(el);
  for (const c of el.children) findAll(c, name, out);
  return out;
}

module.exports = { parseXml, findAll };
