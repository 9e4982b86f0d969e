// Client State Indication (XEP-0352 v1.0, urn:xmpp:csi:0): while a client says it is inactive (a
// phone in a pocket), stanzas that only refresh what it shows wait, one per contact, until it is
// active again. A message with a body, an iq, a subscription request or an error never waits.
import { StreamError } from './errors.js';
import type { Element } from './xml/element.js';

export const CSI_NS = 'urn:xmpp:csi:0';
/** Distinct things held per session (after coalescing); one more and everything goes out. */
export const CSI_MAX_HELD = 256;

const CHAT_STATES_NS = 'http://jabber.org/protocol/chatstates';
const CARBONS_NS = 'urn:xmpp:carbons:2';
const FORWARD_NS = 'urn:xmpp:forward:0';

/** One session's state: active (the default, and again after every new or resumed stream, §5.2) or inactive. */
export class ClientState {
  private inactive = false;
  /** Held stanzas by what they update; the newest replaces the one before and goes last. */
  private readonly held = new Map<string, Element>();

  get isInactive(): boolean {
    return this.inactive;
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** What to write now for `stanza`: nothing (held), or whatever was held, in order, then it. */
  pass(stanza: Element): Element[] {
    if (!this.inactive) return [stanza];
    const key = holdKey(stanza);
    if (key === undefined) return [...this.take(), stanza];
    this.held.delete(key);
    this.held.set(key, stanza);
    return this.held.size > CSI_MAX_HELD ? this.take() : [];
  }

  deactivate(): void {
    this.inactive = true;
  }

  /** Back to active: returns what was held, to send now. */
  activate(): Element[] {
    this.inactive = false;
    return this.take();
  }

  private take(): Element[] {
    const out = [...this.held.values()];
    this.held.clear();
    return out;
  }
}

/** What a session does with an <active/> or <inactive/> nonza. */
export interface CsiSession {
  readonly clientState: ClientState;
  clientActive(): void;
}

/** Handles a nonza in the CSI namespace on a bound stream. */
export function handleCsiNonza(session: CsiSession, el: Element): void {
  if (el.name === 'active') return session.clientActive();
  if (el.name === 'inactive') return session.clientState.deactivate();
  throw new StreamError('unsupported-stanza-type', `<${el.name}/> in ${CSI_NS}`);
}

/**
 * The key a stanza is coalesced under when it may wait, or undefined when it must go now:
 * available/unavailable presence (per sender), and messages that carry nothing but a chat
 * state (per conversation), also inside a carbon copy (XEP-0280) of one.
 */
function holdKey(stanza: Element): string | undefined {
  const type = stanza.attrs.type;
  if (stanza.name === 'presence') return type === undefined || type === 'unavailable' ? `p ${stanza.attrs.from ?? ''}` : undefined;
  if (stanza.name !== 'message' || type === 'error' || type === 'groupchat') return undefined;
  const copy = stanza.getChild('received', CARBONS_NS) ?? stanza.getChild('sent', CARBONS_NS);
  const inner = copy ? copy.getChild('forwarded', FORWARD_NS)?.getChild('message') : stanza;
  if (!inner) return undefined;
  const children = inner.elements();
  if (children.length === 0 || !children.every((c) => c.getNS() === CHAT_STATES_NS)) return undefined;
  return `s ${copy?.name ?? 'direct'} ${inner.attrs.from ?? ''} ${inner.attrs.to ?? ''}`;
}
