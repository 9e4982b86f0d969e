// Service discovery for the server, the account, the peer domain and every contact.
// XEP-0030; XEP-0115 §6.2 (the contacts' node#ver form). Features come from what modules declared.
import type { RoomNetwork } from '../bridge/contract.js';
import { adHocItems } from '../commands/index.js';
import { registrationItems } from './support/registration-commands.js';
import { StanzaError } from '../xmpp/errors.js';
import { conferenceDomain, directoryDomain, uploadDomain, type Feature, type IqRequest } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { lazyContactClasses, type DiscoIdentity } from './support/contact-caps.js';
import { NS } from './support/ns.js';

const SERVER_NAME = 'tlsim gateway';
const PEERS_NAME = 'tlsim peers';
/** The transport's identity (XEP-0100 §6.3: category gateway; the type names the legacy network). */
export const GATEWAY_IDENTITY: DiscoIdentity = { category: 'gateway', type: 'tlsim', name: SERVER_NAME };

export const disco: Feature = {
  name: 'disco',
  disco: { server: [NS.discoInfo, NS.discoItems], account: [NS.discoInfo, NS.discoItems], contact: [NS.discoInfo] },
  setup(ctx) {
    const { identity, network } = ctx;

    // COMPAT(gajim): the domain must answer with a result, or Gajim never asks for the roster.
    // As a component, the domain is a gateway (XEP-0100) on the user's own server.
    ctx.iq('server', 'get', NS.discoInfo, 'query', (req) => {
      noNode(req);
      return discoInfoQuery(
        [identity.component ? GATEWAY_IDENTITY : { category: 'server', type: 'im', name: SERVER_NAME }, ...ctx.discoIdentities('server')],
        ctx.discoFeatures('server'),
      );
    });
    ctx.iq('account', 'get', NS.discoInfo, 'query', (req) => {
      noNode(req);
      return discoInfoQuery([{ category: 'account', type: 'registered' }, ...ctx.discoIdentities('account')], ctx.discoFeatures('account'));
    });
    // COMPAT(profanity): every item the domain lists must answer disco#info with a result.
    ctx.iq('peers', 'get', NS.discoInfo, 'query', (req) => {
      noNode(req);
      return discoInfoQuery([{ category: 'gateway', type: 'tlsim', name: PEERS_NAME }], [NS.discoInfo, NS.discoItems]);
    });
    const classes = lazyContactClasses(ctx);
    ctx.iq('contact', 'get', NS.discoInfo, 'query', (req) => {
      const c = req.to.kind === 'contact' ? network.getContact(req.to.id) : undefined;
      if (!c) throw new StanzaError('item-not-found', 'not a known peer');
      const node = req.payload.attr('node');
      // The caps form (XEP-0115 §6.2) describes a ver, whichever contact is asked: a client that
      // saw the contact's presence before it changed class still gets the answer that hashes right.
      const d = node === undefined ? classes().of(c) : classes().byNode(node);
      if (!d) throw new StanzaError('item-not-found', 'no such node');
      return discoInfoQuery(d.identities, d.features, node);
    });

    // COMPAT(profanity): at least one item, or its post-login steps (carbons, bookmarks, OMEMO) never run.
    ctx.iq('server', 'get', NS.discoItems, 'query', (req) => {
      const node = req.payload.attr('node');
      if (node === NS.commands) {
        const items = adHocItems().map((c) => x('item', { jid: identity.domain, node: c.node, name: c.name }));
        // As a component, leaving the gateway is a command too (run by the transport, not here).
        const extra = identity.component ? registrationItems(identity.domain, true) : [];
        return x('query', { xmlns: NS.discoItems, node }, ...items, ...extra);
      }
      noNode(req);
      // As a component the domain is the MUC service too (XEP-0045 §6.3: its items are its rooms), and no more:
      // no conference identity on it, so that no client takes it for the place to make new group chats.
      if (identity.component) return x('query', { xmlns: NS.discoItems }, ...roomItems(network.rooms, conferenceDomain(identity)));
      // The MUC service only where the network has rooms (reference chat rooms, docs/rooms.md).
      const service = network.rooms ? conferenceDomain(identity) : undefined;
      // The upload service only while something serves the files (XEP-0363; the status page listener).
      const upload = ctx.files?.maxFileBytes() !== undefined ? uploadDomain(identity) : undefined;
      // The FOAF directory's user search (XEP-0055) where the network keeps one (issue 13).
      const directory = network.directory ? directoryDomain(identity) : undefined;
      return x(
        'query',
        { xmlns: NS.discoItems },
        x('item', { jid: identity.peerDomain, name: PEERS_NAME }),
        service && x('item', { jid: service, name: 'tlsim chat rooms' }),
        upload && x('item', { jid: upload, name: 'tlsim file upload' }),
        directory && x('item', { jid: directory, name: 'Find people (FOAF directory)' }),
      );
    });
    // XEP-0163 §7: the account's items are its PEP nodes (none in transport mode: the user's server has them).
    ctx.iq('account', 'get', NS.discoItems, 'query', (req) => {
      noNode(req);
      const nodes = identity.component ? [] : ctx.userData.nodes();
      return x('query', { xmlns: NS.discoItems }, ...nodes.map((node) => x('item', { jid: identity.user.toString(), node })));
    });
    ctx.iq('peers', 'get', NS.discoItems, 'query', (req) => {
      noNode(req);
      return x('query', { xmlns: NS.discoItems });
    });
    ctx.iq('contact', 'get', NS.discoItems, 'query', (req) => {
      if (req.to.kind !== 'contact' || !network.getContact(req.to.id)) throw new StanzaError('item-not-found', 'not a known peer');
      noNode(req);
      return x('query', { xmlns: NS.discoItems });
    });
  },
};

/** The rooms as items of their service (XEP-0045 §6.3): `conference.<domain>` locally, the component domain as a component. */
export function roomItems(rooms: Pick<RoomNetwork, 'list'> | undefined, service: string): Element[] {
  return (rooms?.list() ?? []).map((r) => x('item', { jid: `${r.name}@${service}`, name: r.name }));
}

function noNode(req: IqRequest): void {
  if (req.payload.attr('node') !== undefined) throw new StanzaError('item-not-found', 'no such node');
}

export function discoInfoQuery(identities: readonly DiscoIdentity[], features: readonly string[], node?: string): Element {
  return x(
    'query',
    { xmlns: NS.discoInfo, node },
    ...identities.map((i) => x('identity', { category: i.category, type: i.type, name: i.name, 'xml:lang': i.lang })),
    ...[...new Set(features)].sort().map((f) => x('feature', { var: f })),
  );
}
