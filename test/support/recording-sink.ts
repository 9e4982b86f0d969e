// A GatewaySink that records what the network tells the XMPP side, with a bounded wait for a condition.
import type { ChatState, Contact, GatewaySink, IncomingText, Marker, PeerId } from '../../gateway/bridge/contract.js';

export class RecordingSink implements GatewaySink {
  /** `from`: the peer; `id`: the message's own (IncomingText.id). */
  texts: Array<{ from: PeerId } & IncomingText> = [];
  online = new Set<PeerId>();
  requests: PeerId[] = [];
  notices: string[] = [];
  changed: Contact[] = [];
  private waiters: Array<() => void> = [];
  onText(from: PeerId, m: IncomingText): void { this.texts.push({ from, ...m }); this.poke(); }
  states: Array<{ id: PeerId; state: ChatState }> = [];
  markers: Array<{ id: PeerId; marker: Marker; xmppId: string }> = [];
  onChatState(id: PeerId, state: ChatState): void { this.states.push({ id, state }); this.poke(); }
  onMarker(id: PeerId, marker: Marker, ref: { xmppId: string }): void { this.markers.push({ id, marker, xmppId: ref.xmppId }); this.poke(); }
  onPeerOnline(id: PeerId): void { this.online.add(id); this.poke(); }
  onPeerOffline(id: PeerId): void { this.online.delete(id); this.poke(); }
  onContactRequest(id: PeerId): void { this.requests.push(id); this.poke(); }
  onContactChanged(c: Contact): void { this.changed.push(c); this.poke(); }
  onContactRemoved(): void {}
  onNotice(text: string): void { this.notices.push(text); this.poke(); }
  private poke(): void { for (const w of this.waiters.splice(0)) w(); }
  async until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }
}
