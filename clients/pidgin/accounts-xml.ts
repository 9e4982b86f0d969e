// Pidgin's (libpurple 2.x) ~/.purple/accounts.xml: add or update one XMPP account and leave every
// other byte of the file as it was. The file is not re-serialized: the top-level <account> elements
// are located by a small tokenizer and only ours is inserted or replaced, so accounts of any other
// protocol, settings we do not know and the user's comments all survive.

export interface PidginAccount {
  /** me@localhost/<resource>: libpurple keeps the resource in the account name. */
  name: string;
  password: string;
  connectServer: string;
  port: number;
}

export class AccountsXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountsXmlError';
  }
}

const EMPTY = "<?xml version='1.0' encoding='UTF-8' ?>\n\n<account version='1.0'>\n</account>\n";

const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const unescapeXml = (s: string): string =>
  s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : e === 'apos' ? "'" :
    String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));

interface Span {
  start: number;
  end: number;
  text: string;
}

/** The top-level <account> elements (children of the root <account version='1.0'>) and where the root closes. */
function scan(xml: string): { accounts: Span[]; rootClose: number } {
  const token = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z_][\w.:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
  const stack: string[] = [];
  const accounts: Span[] = [];
  let open = -1;
  let rootClose = -1;
  for (let m = token.exec(xml); m; m = token.exec(xml)) {
    const [all, close, name, , selfClose] = m;
    if (name === undefined) continue;
    if (close) {
      if (stack.pop() !== name) throw new AccountsXmlError(`accounts.xml is not well-formed: unexpected </${name}> at offset ${m.index}`);
      if (stack.length === 1 && name === 'account' && open >= 0) {
        const end = m.index + all.length;
        accounts.push({ start: open, end, text: xml.slice(open, end) });
        open = -1;
      }
      if (stack.length === 0) rootClose = m.index;
      continue;
    }
    if (stack.length === 0 && name !== 'account') throw new AccountsXmlError(`accounts.xml: the root element is <${name}>, not <account>`);
    if (selfClose) continue;
    if (stack.length === 1 && name === 'account') open = m.index;
    stack.push(name);
  }
  if (stack.length > 0 || rootClose < 0) throw new AccountsXmlError('accounts.xml is not well-formed: the root <account> is not closed');
  return { accounts, rootClose };
}

function childText(block: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(block);
  return m ? unescapeXml(m[1]!) : undefined;
}

/** Our account as libpurple writes one (tabs, the same element order), in an existing file's indentation. */
export function accountBlock(a: PidginAccount): string {
  const setting = (name: string, type: string, value: string | number): string =>
    `\t\t\t<setting name='${name}' type='${type}'>${escapeXml(String(value))}</setting>\n`;
  return (
    `<account>\n` +
    `\t\t<protocol>prpl-jabber</protocol>\n` +
    `\t\t<name>${escapeXml(a.name)}</name>\n` +
    `\t\t<password>${escapeXml(a.password)}</password>\n` +
    `\t\t<settings>\n` +
    setting('connect_server', 'string', a.connectServer) +
    setting('port', 'int', a.port) +
    setting('connection_security', 'string', 'require_tls') +
    setting('auth_plain_in_clear', 'bool', 0) +
    `\t\t</settings>\n` +
    `\t\t<settings ui='gtk-gaim'>\n` +
    setting('auto-login', 'bool', 1) +
    `\t\t</settings>\n` +
    `\t</account>`
  );
}

export interface MergeResult {
  /** The new file text (the old one when nothing changes). */
  text: string;
  change: 'added' | 'updated' | 'unchanged';
  /** How many other accounts the file holds (all kept). */
  others: number;
}

/**
 * Adds `account` to the file text (undefined: no file yet), or replaces the XMPP account with the
 * same bare JID (user@domain, whatever the resource). Everything else is kept byte for byte.
 */
export function mergeAccount(existing: string | undefined, account: PidginAccount): MergeResult {
  const xml = existing ?? EMPTY;
  const { accounts, rootClose } = scan(xml);
  const bare = account.name.split('/')[0]!;
  const ours = accounts.find((s) => childText(s.text, 'protocol') === 'prpl-jabber' && childText(s.text, 'name')?.split('/')[0] === bare);
  const block = accountBlock(account);
  const others = accounts.length - (ours ? 1 : 0);
  if (ours) {
    // Ours is replaced only if something we set differs: re-running is a no-op.
    const same =
      childText(ours.text, 'password') === account.password &&
      ours.text.includes(`<setting name='connect_server' type='string'>${escapeXml(account.connectServer)}</setting>`) &&
      ours.text.includes(`<setting name='port' type='int'>${account.port}</setting>`);
    if (same) return { text: xml, change: 'unchanged', others };
    return { text: xml.slice(0, ours.start) + block + xml.slice(ours.end), change: 'updated', others };
  }
  // Before the root's closing tag, after the last account's own line.
  const before = xml.slice(0, rootClose).replace(/[ \t]*$/, '');
  const text = `${before}${before.endsWith('\n') ? '' : '\n'}\t${block}\n${xml.slice(rootClose)}`;
  return { text, change: 'added', others };
}
