// Stream initiation with the file-transfer profile and in-band bytestreams, both ways: the namespaces, the offer
// a client answers (XEP-0095 §3, XEP-0096 §2, XEP-0300 for the hash), and the sending half of XEP-0047 (open,
// data with sequence numbers, each block waiting for its result, close). Receiving is in xep-0096-si-file-transfer.ts.
import { open } from 'node:fs/promises';
import { canonicalBase64 } from '../../../bridge-protocol/index.js';
import type { StoredFile } from '../../files/contract.js';
import type { FeatureContext } from '../../xmpp/feature.js';
import type { SessionInfo } from '../../xmpp/hooks.js';
import { x, type Element } from '../../xmpp/xml/element.js';

export const SI_NS = 'http://jabber.org/protocol/si';
export const SI_FILE_NS = 'http://jabber.org/protocol/si/profile/file-transfer';
export const IBB_NS = 'http://jabber.org/protocol/ibb';
export const FEATURE_NEG_NS = 'http://jabber.org/protocol/feature-neg';
export const DATA_NS = 'jabber:x:data';
const HASHES_NS = 'urn:xmpp:hashes:2';

/** XEP-0047 §2.1: 4096 is what every client takes (libpurple's and slixmpp's default). */
export const IBB_BLOCK_SIZE = 4096;

/**
 * A whole number as XML Schema writes one (XEP-0096's size, XEP-0047's block-size and seq): digits only, at most 15,
 * or undefined. Number() alone would also take "", " 1", "1e3", "0x10" and "1.0", none of which a client means.
 */
export function wholeNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^[0-9]{1,15}$/.test(text) ? Number(text) : undefined;
}

/**
 * The bytes of an IBB block (XEP-0047 §2.2: base64 as RFC 4648 §4 writes it, padded), or undefined when the text is
 * not that. Whitespace is skipped (the XEP's own example wraps lines); otherwise only the spelling that encodes back
 * is taken, because Buffer.from reads "A", "AB==" or base64url as other bytes than were sent.
 */
export function ibbBlock(text: string): Buffer | undefined {
  return canonicalBase64(text.replace(/[ \t\r\n]+/g, ''));
}

/** The stream methods a stream-method field of an SI offer or answer names (XEP-0095 §3, XEP-0020). */
export function streamMethods(si: Element | undefined): string[] {
  const field = si?.getChild('feature', FEATURE_NEG_NS)?.getChild('x', DATA_NS)?.getChildren('field').find((f) => f.attr('var') === 'stream-method');
  if (!field) return [];
  return [...field.getChildren('option').map((o) => o.getChildText('value')), field.getChildText('value')].flatMap((v) => (v ? [v] : []));
}

/** The offer of a stored file (XEP-0096 §2), in band only; its SHA-256 as XEP-0300 says. */
export function fileOffer(sid: string, file: StoredFile): Element {
  const hash = /^[0-9a-f]{64}$/.test(file.sha256) ? x('hash', { xmlns: HASHES_NS, algo: 'sha-256' }, Buffer.from(file.sha256, 'hex').toString('base64')) : undefined;
  return x(
    'si',
    { xmlns: SI_NS, id: sid, profile: SI_FILE_NS, 'mime-type': file.contentType || 'application/octet-stream' },
    x('file', { xmlns: SI_FILE_NS, name: file.name, size: String(file.size) }, hash),
    x(
      'feature',
      { xmlns: FEATURE_NEG_NS },
      x('x', { xmlns: DATA_NS, type: 'form' }, x('field', { var: 'stream-method', type: 'list-single' }, x('option', null, x('value', null, IBB_NS)))),
    ),
  );
}

/** Why an in-band transfer ended before its close. */
export class InBandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InBandError';
  }
}

export interface InBandSend {
  ctx: Pick<FeatureContext, 'request'>;
  session: SessionInfo;
  /** Who the stream is from (the contact's full JID). */
  from: string;
  sid: string;
  file: Pick<StoredFile, 'path' | 'size'>;
  /** Each iq's wait for its result (so also the longest the client may stall between two blocks). */
  timeoutMs: number;
  /** False once the transfer must stop (the session went away). */
  alive(): boolean;
}

/**
 * Sends the file in band (XEP-0047 §2): open, then one block at a time, each after the client confirmed the
 * one before (so one block of ours, at most, is ever on the stream ahead of the user's chat), then close.
 * Resolves with the bytes sent; throws InBandError on an error answer, a timeout or a session gone.
 */
export async function sendInBand(o: InBandSend): Promise<number> {
  const iq = async (payload: Element, what: string): Promise<void> => {
    if (!o.alive()) throw new InBandError('the client went away');
    let reply: Element;
    try {
      reply = await o.ctx.request(o.session, x('iq', { type: 'set', from: o.from }, payload), o.timeoutMs);
    } catch (err) {
      throw new InBandError(`${what}: ${(err as Error).message}`);
    }
    if (reply.attrs.type !== 'result') throw new InBandError(`${what}: ${reply.getChild('error')?.elements()[0]?.name ?? 'error'}`);
  };
  await iq(x('open', { xmlns: IBB_NS, sid: o.sid, 'block-size': String(IBB_BLOCK_SIZE), stanza: 'iq' }), 'open');
  const fh = await open(o.file.path, 'r');
  let sent = 0;
  try {
    const buf = Buffer.alloc(IBB_BLOCK_SIZE);
    for (let seq = 0; sent < o.file.size; seq = (seq + 1) % 65_536) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(IBB_BLOCK_SIZE, o.file.size - sent), sent);
      if (bytesRead === 0) throw new InBandError('the stored file is shorter than its size');
      await iq(x('data', { xmlns: IBB_NS, sid: o.sid, seq: String(seq) }, buf.subarray(0, bytesRead).toString('base64')), `block ${seq}`);
      sent += bytesRead;
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
  await iq(x('close', { xmlns: IBB_NS, sid: o.sid }), 'close');
  return sent;
}
