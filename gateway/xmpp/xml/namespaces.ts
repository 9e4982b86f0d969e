// Namespaces in XML 1.0 (Third Edition) for the tokenizer: qualified names (§4), declarations and their
// constraints (§3: xml and xmlns are reserved), prefix resolution and attribute uniqueness (§6.3) for one start
// tag, with the scopes of the open elements above it.
import { StreamError } from '../errors.js';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttr {
  /** The qualified name as written. */
  name: string;
  prefix: string;
  local: string;
  /** The normalized value (XML 1.0 §3.3.3: references replaced, tab/CR/LF as spaces). */
  value: string;
  /** The attribute's namespace: '' when unprefixed (xmlns itself: the xmlns namespace). */
  uri: string;
}

export interface XmlTag {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attrs: XmlAttr[];
  /** The namespace declarations on this tag (prefix, '' for the default, → URI), when there are any. */
  ns: Record<string, string> | undefined;
}

const notWellFormed = (why: string) => new StreamError('not-well-formed', why);
const badPrefix = (why: string) => new StreamError('bad-namespace-prefix', why);

/** Splits a qualified name; a name that is not a QName (empty prefix or local part, two colons) is an error. */
export function splitName(name: string): [prefix: string, local: string] {
  const colon = name.indexOf(':');
  if (colon === -1) return ['', name];
  const prefix = name.slice(0, colon);
  const local = name.slice(colon + 1);
  if (prefix === '' || local === '' || local.includes(':')) throw notWellFormed(`malformed name: ${name}`);
  return [prefix, local];
}

/**
 * Records a declaration (`xmlns` or `xmlns:p`) on the tag being read. The URI is trimmed as saxes did, and
 * undeclaring a prefix (XML 1.0 has no way to) or binding the reserved names otherwise is refused.
 */
export function declare(tag: XmlTag, attr: XmlAttr): void {
  let prefix: string;
  if (attr.prefix === 'xmlns') prefix = attr.local;
  else if (attr.name === 'xmlns') prefix = '';
  else return;
  const uri = attr.value.trim();
  if (prefix !== '' && uri === '') throw notWellFormed('invalid attempt to undefine prefix in XML 1.0');
  (tag.ns ??= Object.create(null) as Record<string, string>)[prefix] = uri;
  if (prefix === 'xml' && uri !== XML_NS) throw badPrefix(`xml prefix must be bound to ${XML_NS}`);
  if (prefix === 'xmlns' && uri !== XMLNS_NS) throw badPrefix(`xmlns prefix must be bound to ${XMLNS_NS}`);
  if (uri === XMLNS_NS) throw notWellFormed(`no prefix may be bound to ${XMLNS_NS}`);
  if (uri === XML_NS && prefix !== 'xml') throw notWellFormed(`only the xml prefix may be bound to ${XML_NS}`);
}

function resolve(prefix: string, tag: XmlTag, open: readonly XmlTag[]): string | undefined {
  const own = tag.ns?.[prefix];
  if (own !== undefined) return own;
  for (let i = open.length - 1; i >= 0; i--) {
    const uri = open[i]!.ns?.[prefix];
    if (uri !== undefined) return uri;
  }
  return prefix === 'xml' ? XML_NS : prefix === 'xmlns' ? XMLNS_NS : undefined;
}

/** Resolves a complete start tag's element and attribute namespaces; `open` are the elements it is inside. */
export function resolveTag(tag: XmlTag, open: readonly XmlTag[]): void {
  const [prefix, local] = splitName(tag.name);
  tag.prefix = prefix;
  tag.local = local;
  tag.uri = resolve(prefix, tag, open) ?? '';
  if (prefix !== '') {
    if (prefix === 'xmlns') throw badPrefix('tags may not have "xmlns" as prefix');
    if (tag.uri === '') throw badPrefix(`unbound namespace prefix: ${JSON.stringify(prefix)}`);
  }
  const attrs = tag.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.prefix === '') {
      a.uri = a.name === 'xmlns' ? XMLNS_NS : '';
    } else {
      const uri = resolve(a.prefix, tag, open);
      if (uri === undefined) throw badPrefix(`unbound namespace prefix: ${JSON.stringify(a.prefix)}`);
      a.uri = uri;
    }
    // Unique by namespace and local name (an unprefixed one by its name): §6.3.
    for (let j = 0; j < i; j++) {
      const b = attrs[j]!;
      if (a.prefix === '' ? b.prefix === '' && b.name === a.name : b.prefix !== '' && b.local === a.local && b.uri === a.uri) {
        throw notWellFormed(`duplicate attribute: ${a.name}`);
      }
    }
  }
}
