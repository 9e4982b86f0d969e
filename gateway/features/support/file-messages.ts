// Messages that carry a file: the body (or XEP-0066 OOB URL) is a GET URL of ours, as Conversations, Dino, Gajim
// and Converse.js send after an XEP-0363 upload. To a gateway peer the file goes over the link; to a reference
// peer, which has no files, one plain line says what was offered, never the bytes, and the user is told.
import type { Contact } from '../../bridge/contract.js';
import type { AccountFiles, StoredFile } from '../../files/contract.js';
import type { FeatureContext } from '../../xmpp/feature.js';
import { x, type Element } from '../../xmpp/xml/element.js';

export const OOB_NS = 'jabber:x:oob';

/** The user's stored file a message offers (its OOB URL, else its whole body), if it is one of ours. */
export function offeredFile(files: AccountFiles | undefined, stanza: Element, body: string): { file: StoredFile; url: string } | undefined {
  if (!files) return undefined;
  const oob = stanza.getChild('x', OOB_NS)?.getChildText('url')?.trim();
  for (const url of [oob, body.trim()]) {
    const file = url ? files.fileForUrl(url) : undefined;
    if (file && url) return { file, url };
  }
  return undefined;
}

/** XEP-0066 for a message whose body is a URL of one of our stored files (what clients show as the file). */
export function oobFor(files: AccountFiles | undefined, body: string): Element | undefined {
  const url = body.trim();
  return files?.fileForUrl(url) ? x('x', { xmlns: OOB_NS }, x('url', null, url)) : undefined;
}

export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB'];
  let n = bytes / 1024;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}

/** What a reference peer reads instead of a file: its name and size, and that it did not come. */
export function fileOfferedLine(file: StoredFile): string {
  return `[a file was offered here: "${file.name}", ${humanSize(file.size)}; tlsim carries text only, so it was not sent]`;
}

/**
 * Sends the file the user's message offers to contact `c`: over the link to a gateway peer, or as one line to a
 * reference peer. `extra`: the message's text besides the URL, sent as a message of its own. What happened is
 * told to the device that wrote, from the gateway contact. Resolves with the archive id of what was kept in the
 * history (the file's URL, or the line a reference peer got).
 */
export async function sendOfferedFile(
  ctx: FeatureContext,
  c: Contact,
  offered: { file: StoredFile; url: string },
  body: string,
  from: string,
  xmppId?: string,
): Promise<string | undefined> {
  const { network, identity } = ctx;
  const tell = (text: string): void =>
    void ctx.deliver(x('message', { type: 'chat', from: identity.domain, to: from }, x('body', null, text)));
  const name = c.name;
  const extra = body.replace(offered.url, '').trim();
  if (extra !== '') await network.sendText(c.id, extra);
  const { file } = offered;
  if (c.gateway && network.sendFile) {
    const sent = network.sendFile(c.id, file.token, { text: file.url, ...(xmppId !== undefined && { xmppId }) });
    if (sent.status === 'queued') tell(`${name} is offline: "${file.name}" goes to their gateway as soon as the link is up.`);
    return sent.stanzaId;
  }
  const line = fileOfferedLine(file);
  const outcome = await network.sendText(c.id, line);
  tell(
    `"${file.name}" (${humanSize(file.size)}) was not sent: ${name} is a plain tlsim peer, which can receive text only. ` +
      `They got this line instead: ${line}`,
  );
  return outcome.stanzaId;
}
