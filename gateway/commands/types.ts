// Types of the command layer shared by its three surfaces: the gateway chat bot, XEP-0050 ad-hoc
// commands and the CLI. No XMPP here: a command takes strings and gives back text and data.
import type { ContactState, PeerNetwork } from '../bridge/contract.js';

export interface CommandContext {
  network: PeerNetwork;
  /** Domain of peer JIDs (e.g. `peers.localhost`): `<fingerprint>@<peerDomain>` names a peer too. */
  peerDomain: string;
  /** (Additive) The server domain; default `localhost`. */
  domain?: string;
  /** (Additive) The rooms' domain: `conference.<domain>` (the default), the component domain as a component. */
  roomDomain?: string;
}

export interface CommandResult {
  ok: boolean;
  /** What a person reads (chat reply, ad-hoc note, CLI output). */
  text: string;
  /** The same outcome for programs (`--json`, ad-hoc result forms). */
  data?: unknown;
}

export type ParamKind = 'text' | 'fingerprint' | 'share' | 'contact';

export interface CommandParam {
  name: string;
  /** Form field label. */
  label: string;
  required: boolean;
  /** 'contact': a fingerprint, a fingerprint prefix (≥ 8 hex) or a contact's name. */
  kind: ParamKind;
  /**
   * For 'contact': which contacts it may name. Resolution looks only among these, and an
   * ad-hoc form offers them as a list to pick from. Absent: any peer, even one never seen
   * (a full fingerprint), so `block` can refuse a stranger before it writes.
   */
  among?: readonly ContactState[];
}

export interface CommandSpec {
  name: string;
  /** Short title: the ad-hoc command's name in the client's menu. */
  title: string;
  /** One line: what it does. */
  summary: string;
  /** How to type it in a chat or on the command line, e.g. `rename <contact> <new name>`. */
  usage: string;
  params: CommandParam[];
  /** Only meaningful as typed text (help): not offered as an ad-hoc command. */
  chatOnly?: boolean;
}
