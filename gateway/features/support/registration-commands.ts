// Registering and unregistering as XEP-0050 ad-hoc commands on the gateway (the way slidge offers
// registration), for clients whose service discovery has no Register button but a command menu.
// One step each: no form to fill in (an existing tlsd key is imported through XEP-0077's form).
import { randomUUID } from 'node:crypto';
import { x, type Element } from '../../xmpp/xml/element.js';
import { NS } from './ns.js';


const REGISTRATION_COMMANDS = [
  { node: 'register', name: 'Register with the tlsim gateway' },
  { node: 'unregister', name: 'Unregister (deletes your tlsim identity)' },
] as const;

type RegistrationNode = (typeof REGISTRATION_COMMANDS)[number]['node'];

/** The registration command a `<command/>` payload runs, if it is one. */
export function registrationNode(payload: Element | undefined): RegistrationNode | undefined {
  if (!payload || payload.name !== 'command' || payload.getNS() !== NS.commands) return undefined;
  const node = payload.attr('node');
  return REGISTRATION_COMMANDS.find((c) => c.node === node)?.node;
}

/** The completed command with one note (XEP-0050 §4.4). */
export function commandDone(node: RegistrationNode, ok: boolean, text: string): Element {
  return x('command', { xmlns: NS.commands, node, status: 'completed', sessionid: randomUUID() }, x('note', { type: ok ? 'info' : 'error' }, text));
}

/** disco#items of the commands node, for a user who is (or is not yet) registered. */
export function registrationItems(domain: string, registered: boolean): Element[] {
  const node = registered ? 'unregister' : 'register';
  const c = REGISTRATION_COMMANDS.find((r) => r.node === node)!;
  return [x('item', { jid: domain, node: c.node, name: c.name })];
}
