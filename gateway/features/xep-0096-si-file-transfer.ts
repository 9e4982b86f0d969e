// Pidgin's way to send a file (Send File…): stream initiation with the file-transfer profile, the bytes in band.
// XEP-0095 / XEP-0096 (the offer to a contact, answered with the stream method we take), XEP-0047 (IBB over iq:
// open, data with sequence numbers, close). The gateway plays the receiving client: the bytes become a file of the
// account's store, and then go on as an uploaded file does (support/file-messages.ts): over the link to a gateway
// peer, one line to a reference peer. SOCKS5 bytestreams (XEP-0065) are not offered: IBB works through any client.
import type { Contact } from '../bridge/contract.js';
import { UploadRefusedError, type IncomingUpload } from '../files/contract.js';
import { StanzaError, type StanzaErrorCondition } from '../xmpp/errors.js';
import type { Feature, IqRequest } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';
import { sendOfferedFile } from './support/file-messages.js';
import { DATA_NS, FEATURE_NEG_NS, IBB_NS, SI_FILE_NS, SI_NS, ibbBlock, streamMethods, wholeNumber } from './support/si-ibb.js';

/** Transfers open at once per account; more are refused. */
const MAX_SESSIONS = 8;
/** Largest IBB block we take (XEP-0047 §2.2: a bigger one is refused with resource-constraint). */
const MAX_BLOCK = 65_535;
/** From the accepted offer to the IBB open, and between two blocks. */
const IDLE_MS = 120_000;

interface Session {
  contact: Contact;
  name: string;
  size: number;
  type: string;
  from: string;
  upload: IncomingUpload | undefined;
  block: number;
  seq: number;
  /** Bytes taken so far. */
  received: number;
  timer: NodeJS.Timeout | undefined;
}

export const siFileTransfer: Feature = {
  name: 'si-file-transfer',
  // COMPAT(pidgin): libpurple offers Send File… only for a resource whose features name SI and its profile.
  disco: { contact: [SI_NS, SI_FILE_NS, IBB_NS] },
  setup(ctx) {
    const files = ctx.files;
    const sessions = new Map<string, Session>();
    const keyOf = (req: IqRequest, sid: string | undefined): string => {
      if (!sid || sid.length > 128) throw new StanzaError('bad-request', 'a stream needs an id (sid)');
      return `${req.from.toString()} ${sid}`;
    };
    const end = (key: string, s: Session): void => {
      clearTimeout(s.timer);
      sessions.delete(key);
    };
    const touch = (key: string, s: Session): void => {
      clearTimeout(s.timer);
      s.timer = setTimeout(() => {
        ctx.log.info({ size: s.size }, 'in-band file transfer idle; dropped');
        s.upload?.abort();
        end(key, s);
      }, IDLE_MS);
      s.timer.unref();
    };

    ctx.iq('contact', 'set', SI_NS, 'si', (req) => {
      if (req.to.kind !== 'contact') return;
      const c = ctx.network.getContact(req.to.id);
      if (!c || c.state !== 'contact') throw new StanzaError('item-not-found', 'not a contact: add the peer first');
      if (!files || files.maxFileBytes() === undefined) throw new StanzaError('service-unavailable', 'files need the status page listener (web.enabled, files.enabled)');
      const si = req.payload;
      const file = si.getChild('file', SI_FILE_NS);
      if (si.attr('profile') !== SI_FILE_NS || !file) throw new StanzaError('bad-request', 'only the file-transfer profile (XEP-0096) is taken', 'modify', { name: 'bad-profile', ns: SI_NS });
      if (!streamMethods(si).includes(IBB_NS)) {
        throw new StanzaError('bad-request', 'the gateway takes files in band (XEP-0047) only', 'cancel', { name: 'no-valid-streams', ns: SI_NS });
      }
      const size = wholeNumber(file.attr('size'));
      if (size === undefined) throw new StanzaError('bad-request', 'the file needs its size');
      const max = files.maxFileBytes() ?? 0;
      if (size > max) throw new StanzaError('not-acceptable', `the file is ${size} bytes; at most ${max} are taken`);
      if (sessions.size >= MAX_SESSIONS) throw new StanzaError('resource-constraint', 'too many file transfers at once: wait for one to finish');
      const key = keyOf(req, si.attr('id'));
      if (sessions.has(key)) throw new StanzaError('conflict', 'a transfer with this id is open');
      const s: Session = { contact: c, name: file.attr('name') ?? 'file', size, type: si.attr('mime-type') ?? '', from: req.from.toString(), upload: undefined, block: 0, seq: 0, received: 0, timer: undefined };
      sessions.set(key, s);
      touch(key, s);
      return x('si', { xmlns: SI_NS }, x('feature', { xmlns: FEATURE_NEG_NS }, x('x', { xmlns: DATA_NS, type: 'submit' }, x('field', { var: 'stream-method' }, x('value', null, IBB_NS)))));
    });

    const session = (req: IqRequest): [string, Session] => {
      const key = keyOf(req, req.payload.attr('sid'));
      const s = sessions.get(key);
      if (!s) throw new StanzaError('item-not-found', 'no such stream');
      return [key, s];
    };

    ctx.iq('contact', 'set', IBB_NS, 'open', (req) => {
      const [key, s] = session(req);
      const block = wholeNumber(req.payload.attr('block-size'));
      if (block === undefined || block < 1) throw new StanzaError('bad-request', 'open needs a block-size');
      if (block > MAX_BLOCK) throw new StanzaError('resource-constraint', `blocks of at most ${MAX_BLOCK} bytes`, 'modify');
      if ((req.payload.attr('stanza') ?? 'iq') !== 'iq') throw new StanzaError('feature-not-implemented', 'data in iq stanzas only', 'cancel');
      if (s.upload) throw new StanzaError('unexpected-request', 'the stream is open already');
      try {
        s.upload = files!.receive(s.name, s.size, s.type);
      } catch (err) {
        end(key, s);
        if (err instanceof UploadRefusedError) throw new StanzaError(err.reason === 'quota' ? 'resource-constraint' : 'not-acceptable', err.message);
        throw err;
      }
      s.block = block;
      touch(key, s);
    });

    ctx.iq('contact', 'set', IBB_NS, 'data', async (req) => {
      const [key, s] = session(req);
      const upload = s.upload;
      if (!upload) throw new StanzaError('unexpected-request', 'open the stream first');
      // XEP-0047 §2.2: a block that cannot be taken ends the stream, and its sender MUST close it: every such error
      // is of type cancel (the XEP says so for seq and base64; the same block again cannot succeed either).
      const drop = (condition: StanzaErrorCondition, text: string): StanzaError => {
        upload.abort();
        end(key, s);
        return new StanzaError(condition, text, 'cancel');
      };
      const seq = wholeNumber(req.payload.attr('seq'));
      if (seq === undefined || seq > 65_535) throw drop('bad-request', 'a block needs its seq, a number from 0 to 65535');
      if (seq !== s.seq) throw drop('unexpected-request', `block ${seq} out of sequence (expected ${s.seq})`);
      const data = ibbBlock(req.payload.text());
      if (!data) throw drop('bad-request', 'the block is not base64 as RFC 4648 §4 writes it (padded)');
      if (data.length > s.block) throw drop('unexpected-request', 'block larger than agreed');
      if (s.received + data.length > s.size) throw drop('not-acceptable', `more than the ${s.size} bytes offered`);
      s.seq = (s.seq + 1) % 65_536;
      s.received += data.length;
      touch(key, s);
      try {
        await upload.write(data);
      } catch {
        end(key, s);
        throw new StanzaError('internal-server-error', 'the file could not be written');
      }
    });

    ctx.iq('contact', 'set', IBB_NS, 'close', async (req) => {
      const [key, s] = session(req);
      end(key, s);
      const stored = await s.upload?.end();
      if (!stored || !files) {
        ctx.deliver(x('message', { type: 'chat', from: ctx.identity.domain, to: s.from }, x('body', null, `"${s.name}" was not sent: it did not arrive whole (${s.size} bytes were offered).`)));
        return;
      }
      await sendOfferedFile(ctx, s.contact, { file: stored, url: stored.url }, '', s.from);
    });
  },
};
