// A file a gateway peer sent, offered to the user's clients that take files the way Pidgin does: stream initiation
// with the file-transfer profile (XEP-0095, XEP-0096, the hash as XEP-0300 says), the bytes in band (XEP-0047).
// The message with our URL and its OOB element (XEP-0066) goes to every client as before (and stays in the
// history); a client whose disco#info (XEP-0030, cached by XEP-0115 caps: support/client-features.ts) has SI file
// transfer and IBB but not jabber:x:oob — libpurple advertises jabber:iq:oob only, and shows the URL as a plain
// link — also gets the offer, from the contact: a "file transfer request" with Accept. Declined or unanswered,
// the URL it already has is the way to the file.
import { randomUUID } from 'node:crypto';
import type { StoredFile } from '../files/contract.js';
import type { Feature } from '../xmpp/feature.js';
import type { SessionInfo } from '../xmpp/hooks.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { clientFeatures, type ClientFeatureSet } from './support/client-features.js';
import { OOB_NS } from './support/file-messages.js';
import { peerIdOf } from './support/peer-jid.js';
import { IBB_BLOCK_SIZE, IBB_NS, SI_FILE_NS, SI_NS, fileOffer, sendInBand, streamMethods } from './support/si-ibb.js';

/** Offers open at once per account (waiting for Accept, or sending); more files go as their URL alone. */
const MAX_OFFERS = 4;
/** How long a user has to press Accept (XEP-0096 sets none; Pidgin's request window waits for ever). */
const ANSWER_MS = 10 * 60_000;
/** Each in-band block's wait for the client's result: the longest a transfer may stall. */
const BLOCK_MS = 30_000;

/** Takes files as Pidgin does: SI with the file profile, in band, and no XEP-0066 in messages to show them. */
export function wantsSiOffer(features: ClientFeatureSet): boolean {
  return features !== undefined && features.has(SI_NS) && features.has(SI_FILE_NS) && features.has(IBB_NS) && !features.has(OOB_NS);
}

export const siFileOffer: Feature = {
  name: 'si-file-offer',
  setup(ctx) {
    const files = ctx.files;
    if (!files) return;
    const known = clientFeatures(ctx);
    const closed = new WeakSet<SessionInfo>();
    let open = 0;
    ctx.on('session-closed', (s) => void closed.add(s));

    const offer = async (session: SessionInfo, from: string, file: StoredFile): Promise<void> => {
      const sid = `tlsim-${randomUUID()}`;
      const log = ctx.log.child({ sid: sid.slice(6, 14), size: file.size });
      const alive = (): boolean => session.available && !closed.has(session);
      open++;
      try {
        const answer = await ctx.request(session, x('iq', { type: 'set', from }, fileOffer(sid, file)), ANSWER_MS).catch(() => undefined);
        if (!answer || answer.attrs.type !== 'result') {
          log.info({ answer: answer?.getChild('error')?.elements()[0]?.name ?? 'none' }, 'file offer declined; the client has its URL');
          return;
        }
        if (!streamMethods(answer.getChild('si', SI_NS)).includes(IBB_NS)) {
          log.info('file offer answered without in-band bytestreams; the client has its URL');
          return;
        }
        const sent = await sendInBand({ ctx, session, from, sid, file, timeoutMs: BLOCK_MS, alive });
        log.info({ sent, block: IBB_BLOCK_SIZE }, 'file sent in band');
      } catch (err) {
        log.info({ reason: (err as Error).message }, 'in-band file transfer ended early; the client has its URL');
      } finally {
        open--;
      }
    };

    const consider = (stanza: Element, sessions: readonly SessionInfo[]): void => {
      if (stanza.attrs.type !== 'chat' || !stanza.attrs.from) return;
      const url = stanza.getChild('x', OOB_NS)?.getChildText('url');
      const file = url ? files.fileForUrl(url) : undefined;
      if (!file) return;
      // From a contact only (a peer's JID), never from the user's own resources or the gateway contact.
      const from = stanza.attrs.from;
      const id = peerIdOf(ctx.identity, from);
      if (!from || !id || !ctx.network.getContact(id)) return;
      for (const session of sessions) {
        void known.of(session).then((features) => {
          if (!wantsSiOffer(features) || !session.available) return;
          if (open >= MAX_OFFERS) return void ctx.log.info({ open }, 'too many file offers open; this one goes as its URL only');
          return offer(session, from, file);
        });
      }
    };
    ctx.on('message-delivered', consider);
    // A file that came while no client was online: offered to the one that takes it from the offline box.
    ctx.on('stored-delivered', (session, stanza) => consider(stanza, [session]));
  },
};
