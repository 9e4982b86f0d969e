// The ordered list of XMPP features the gateway loads. Order matters only where one
// feature's handlers must see stanzas before another's; say why next to the entry.
import type { Feature } from '../xmpp/feature.js';
import { roster } from './rfc6121-roster.js';
import { presence } from './rfc6121-presence.js';
import { ownResources } from './rfc6121-own-resources.js';
import { messages } from './rfc6121-messages.js';
import { disco } from './xep-0030-disco.js';
import { lastActivity } from './xep-0012-last-activity.js';
import { privateStorage } from './xep-0049-private-storage.js';
import { vcardTemp } from './xep-0054-vcard-temp.js';
import { chatStates } from './xep-0085-chat-states.js';
import { receipts } from './xep-0184-receipts.js';
import { chatMarkers } from './xep-0333-chat-markers.js';
import { softwareVersion } from './xep-0092-software-version.js';
import { carbons } from './xep-0280-carbons.js';
import { entityCaps } from './xep-0115-entity-caps.js';
import { pep } from './xep-0163-pep.js';
import { blocking } from './xep-0191-blocking.js';
import { ping } from './xep-0199-ping.js';
import { entityTime } from './xep-0202-entity-time.js';
import { gatewayBot } from './gateway-bot.js';
import { localUsers } from './local-users.js';
import { adHocCommands } from './xep-0050-ad-hoc-commands.js';
import { inBandRegistration } from './xep-0077-in-band-registration.js';
import { componentRoster } from './xep-0356-component-roster.js';
import { mam } from './xep-0313-mam.js';
import { muc } from './xep-0045-muc.js';
import { mamMuc } from './xep-0313-mam-muc.js';
import { httpUpload } from './xep-0363-http-upload.js';
import { search } from './xep-0055-search.js';
import { siFileTransfer } from './xep-0096-si-file-transfer.js';
import { siFileOffer } from './xep-0096-si-file-offer.js';

export const features: Feature[] = [
  // Before presence: on a contact change the roster push must reach clients before the
  // contact's presence, or they drop presence from a JID not (yet) in their roster.
  roster,
  // Before messages: at initial presence, contacts' presences go out before stored messages,
  // so clients know the sender's resource (and its chat-state support) first.
  presence,
  // The user's other resources' presence, after the contacts'.
  ownResources,
  messages,
  // The gateway's other local accounts: presence and chat between them (local mode only).
  localUsers,
  chatStates,
  receipts,
  chatMarkers,
  carbons,
  entityCaps,
  disco,
  ping,
  vcardTemp,
  blocking,
  privateStorage,
  pep,
  softwareVersion,
  entityTime,
  lastActivity,
  mam,
  // Reference chat rooms as MUC rooms (conference.<domain>; as a component, <room>@<component domain>).
  muc,
  // The archives of rooms a gateway hosts (XEP-0313 on the room JID).
  mamMuc,
  // The upload service upload.<domain> (local mode: a component's users upload to their own server).
  httpUpload,
  // Find people: XEP-0055 search over the FOAF directory on directory.<domain> (local mode, issue 13).
  search,
  // Pidgin's Send File… (stream initiation, in-band bytes) into the same store.
  siFileTransfer,
  // And the other way: a file a gateway peer sent, offered so to clients that cannot take its URL (Pidgin).
  siFileOffer,
  // The gateway contact's text commands and the same actions as XEP-0050 commands.
  gatewayBot,
  adHocCommands,
];

/**
 * Transport mode (XEP-0114 component): one set per registered user. The user's own server keeps
 * their roster, blocklist, private storage, PEP and message archive, makes carbons and shows their
 * resources to one another, so those modules are not here; peers reach the roster through subscriptions
 * or XEP-0356 instead (first, for the same reason as roster above), and registering (XEP-0077) is one more.
 * The tlsim rooms (muc, mam-muc) are the gateway's, not the server's: they run per user here too.
 */
const SERVER_SIDE: ReadonlySet<Feature> = new Set([roster, blocking, privateStorage, pep, mam, ownResources, carbons, localUsers, httpUpload, search, siFileTransfer, siFileOffer]);
export const componentFeatures: Feature[] = [componentRoster, ...features.filter((f) => !SERVER_SIDE.has(f)), inBandRegistration];
