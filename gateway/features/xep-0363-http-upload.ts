// The file upload service at upload.<domain>: slots for a PUT and a GET on the gateway's HTTPS listener.
// XEP-0363 (§3 discovery with the XEP-0128 max-file-size form, §4 slot request, §4.1 errors); listed in the
// server's disco#items (xep-0030-disco.ts), where Conversations, Dino, Gajim, Converse.js and slixmpp look.
import { UploadRefusedError } from '../files/contract.js';
import { StanzaError } from '../xmpp/errors.js';
import { uploadDomain, type Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';
import { discoInfoQuery } from './xep-0030-disco.js';
import { NS } from './support/ns.js';

export const UPLOAD_NS = 'urn:xmpp:http:upload:0';
export const UPLOAD_SERVICE_NAME = 'tlsim file upload';

export const httpUpload: Feature = {
  name: 'http-upload',
  setup(ctx) {
    const files = ctx.files;
    if (!files || !uploadDomain(ctx.identity)) return;

    ctx.iq('upload', 'get', NS.discoInfo, 'query', (req) => {
      if (req.payload.attr('node') !== undefined) throw new StanzaError('item-not-found', 'no such node');
      const max = files.maxFileBytes();
      if (max === undefined) throw new StanzaError('service-unavailable', 'uploads need the status page listener (web.enabled)');
      return discoInfoQuery([{ category: 'store', type: 'file', name: UPLOAD_SERVICE_NAME }], [UPLOAD_NS, NS.discoInfo]).append(
        x(
          'x',
          { xmlns: 'jabber:x:data', type: 'result' },
          x('field', { var: 'FORM_TYPE', type: 'hidden' }, x('value', null, UPLOAD_NS)),
          x('field', { var: 'max-file-size' }, x('value', null, String(max))),
        ),
      );
    });
    ctx.iq('upload', 'get', NS.discoItems, 'query', () => x('query', { xmlns: NS.discoItems }));

    ctx.iq('upload', 'get', UPLOAD_NS, 'request', (req) => {
      const p = req.payload;
      const name = p.attr('filename') ?? '';
      const sizeText = p.attr('size') ?? '';
      if (name.trim() === '') throw new StanzaError('bad-request', 'the request needs a filename');
      if (!/^[0-9]{1,15}$/.test(sizeText)) throw new StanzaError('bad-request', 'the request needs a size in bytes');
      let slot;
      try {
        slot = files.requestSlot(name, Number(sizeText), p.attr('content-type') ?? '');
      } catch (err) {
        throw slotError(err);
      }
      ctx.log.debug({ size: Number(sizeText) }, 'upload slot given');
      return x(
        'slot',
        { xmlns: UPLOAD_NS },
        x('put', { url: slot.putUrl }, ...slot.headers.map((h) => x('header', { name: h.name }, h.value))),
        x('get', { url: slot.getUrl }),
      );
    });
  },
};

function slotError(err: unknown): unknown {
  if (!(err instanceof UploadRefusedError)) return err;
  switch (err.reason) {
    case 'too-large':
      return new StanzaError('not-acceptable', err.message, 'modify', {
        name: 'file-too-large',
        ns: UPLOAD_NS,
        children: [x('max-file-size', null, String(err.maxFileBytes ?? 0))],
      });
    case 'quota':
      return new StanzaError('resource-constraint', err.message, 'wait');
    case 'unavailable':
      return new StanzaError('service-unavailable', err.message);
    default:
      return new StanzaError('bad-request', err.message);
  }
}
