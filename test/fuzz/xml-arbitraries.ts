// Generators of XMPP-like XML shared by the XML fuzz targets (xml-parser, xml-differential): XML-legal text and
// names, random element trees and the tree a parser must give back for them, and the pieces broken streams are
// made of.
import fc from 'fast-check';
import { Element } from '../../gateway/xmpp/xml/element.js';

export const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";
export const FOOTER = '</stream:stream>';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

// ---- XML-legal text, names and element trees -------------------------------------------------------------

export const cp = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));
/** XML 1.0 Char, weighted towards what escaping and line-end handling must get right. */
export const legalChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('<', '>', '&', '"', "'", '\t', '\n', '\r', ']', ' ', ';', '#', '=', '\r\n') },
  { weight: 4, arbitrary: cp(0x20, 0x7e) },
  { weight: 2, arbitrary: cp(0x80, 0xd7ff) },
  { weight: 1, arbitrary: cp(0xe000, 0xfffd) },
  { weight: 1, arbitrary: cp(0x10000, 0x10ffff) },
);
export const legalText = (maxLength: number) => fc.array(legalChar, { maxLength }).map((a) => a.join(''));
/** Any UTF-16 string at all, lone surrogates and C0 controls included. */
export const anyText = fc.array(
  fc.oneof(legalChar, cp(0, 0x1f), fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), fc.constantFrom('\ufffe', '\uffff')),
  { maxLength: 30 },
).map((a) => a.join(''));

export const nameStart = fc.oneof(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCZ_'), fc.constantFrom('é', 'ß', '中', 'Ω', 'ǅ', 'ア'));
export const nameChar = fc.oneof(nameStart, fc.constantFrom(...'0189.-_'), fc.constantFrom('·', '\u0301', '\u203f'));
export const ncname = fc
  .tuple(nameStart, fc.array(nameChar, { maxLength: 6 }))
  .map(([s, rest]) => s + rest.join(''))
  .filter((n) => !/^xml/i.test(n));
export const nsUri = fc.oneof(
  fc.constantFrom('jabber:client', 'urn:xmpp:receipts', 'http://jabber.org/protocol/disco#info', 'jabber:x:data'),
  // Namespace names are URI references: no whitespace (saxes trims what String.trim does, U+FEFF and
  // U+3000 included, and xmlns:p=" " would then undeclare p).
  legalText(12)
    .map((u) => u.replace(/\s/g, ''))
    .filter((u) => u !== XML_NS && u !== XMLNS_NS),
);

export interface TreeSpec {
  name: string;
  attrs: Record<string, string>;
  ns: string | undefined;
  lang: string | undefined;
  foreign: { prefix: string; local: string; uri: string; value: string } | undefined;
  children: Array<TreeSpec | string>;
}

export const treeSpec: fc.Arbitrary<TreeSpec> = fc.letrec<{ el: TreeSpec }>((tie) => ({
  el: fc.record({
    name: ncname,
    attrs: fc.dictionary(ncname, legalText(10), { maxKeys: 3 }),
    ns: fc.option(fc.oneof(nsUri, fc.constant('')), { nil: undefined }),
    lang: fc.option(fc.constantFrom('en', 'de-CH', ''), { nil: undefined }),
    foreign: fc.option(
      fc.record({ prefix: ncname, local: ncname, uri: nsUri.filter((u) => u !== ''), value: legalText(6) }),
      { nil: undefined, freq: 4 },
    ),
    children: fc.array(fc.oneof({ depthSize: 'small', maxDepth: 3 }, legalText(16), tie('el')), { maxLength: 3 }),
  }),
})).el;

/**
 * The tree a parser must give back for a spec: what the parser normalizes (xmlns only where it changes,
 * adjacent text merged, no empty text) is normalized here first, so a round trip must be the identity.
 */
export function build(spec: TreeSpec, parentNs?: string): Element {
  const attrs: Record<string, string> = { ...spec.attrs };
  if (spec.lang !== undefined) attrs['xml:lang'] = spec.lang;
  if (spec.foreign) {
    attrs[`${spec.foreign.prefix}:${spec.foreign.local}`] = spec.foreign.value;
    attrs[`xmlns:${spec.foreign.prefix}`] = spec.foreign.uri;
  }
  const ns = spec.ns ?? parentNs ?? 'jabber:client';
  if (parentNs === undefined || ns !== parentNs) attrs.xmlns = ns;
  const el = new Element(spec.name, attrs);
  for (const c of spec.children) {
    if (typeof c !== 'string') el.append(build(c, ns));
    else if (c === '') continue;
    else if (typeof el.children[el.children.length - 1] === 'string') el.children[el.children.length - 1] += c;
    else el.append(c);
  }
  return el;
}

export const stanza = treeSpec.map((s) => build(s));
export const ws = fc.array(fc.constantFrom(' ', '\n', '\t', '\r\n'), { maxLength: 3 }).map((a) => a.join(''));

export const streamOf = (stanzas: Element[], gaps: string[] = []) =>
  HEADER + stanzas.map((s, i) => (gaps[i] ?? '') + s.toString()).join('') + (gaps[stanzas.length] ?? '') + FOOTER;

/** The pieces of XML (and of things XMPP refuses) that random streams are made of. */
export const XML_TOKENS = [
  '<a>', '</a>', '<b/>', '<message to="x">', '</message>', '<body>', '</body>', 'hello', ' ', '\n', '\r', '&amp;', '&lt;',
  '&#65;', '&#x1F600;', '&#0;', '&foo;', '&', '<', '>', '/>', '="', '"', "'", '=', 'xmlns="urn:x"', 'xmlns:p="urn:p"',
  'p:', '<p:a>', '</p:a>', '<![CDATA[', ']]>', '<!--', '-->', '<?pi x?>', '<!DOCTYPE a>', '<!ENTITY e "x">', '</stream:stream>',
  '<stream:error/>', 'é', '😀', '\u0000', '\ufffe', 'xml:lang="en"', 'a="1" a="2"',
];
export const xmlToken = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...XML_TOKENS) },
  { weight: 2, arbitrary: stanza.map(String) },
  { weight: 1, arbitrary: legalText(8) },
);
