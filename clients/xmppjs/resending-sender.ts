// A client that loses nothing its server did not acknowledge, as Conversations and Gajim behave: stream management
// (XEP-0198) on every connection, its own list of the messages not acknowledged yet, and after a connection dies
// (the server killed, a resumption that fails because the server restarted) each of them sent again on the next
// connection with the same id and the same XEP-0359 origin-id, so the server can tell a resend from a new message.
import { xml, XmppJsClient, type XmppJsOptions } from './client.js';

const SID = 'urn:xmpp:sid:0';

export class ResendingSender {
  /** Messages sent and not acknowledged (by id), in the order they were first sent. */
  readonly unacked = new Map<string, { to: string; body: string }>();
  /** Ids the server acknowledged (<a/>): from here on the server answers for them. */
  readonly acked = new Set<string>();
  /** How many messages were sent again on a later connection. */
  resent = 0;
  private client: XmppJsClient | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: () => XmppJsOptions) {}

  get connected(): boolean {
    return this.client?.xmpp.status === 'online';
  }

  /** Connects (a new stream, a new SM session) and sends again, first, what is not acknowledged. */
  async connect(): Promise<void> {
    await this.client?.stop();
    const c = new XmppJsClient(this.opts());
    // An <r/> soon after each run of messages, so acknowledgements keep up with a steady stream.
    c.sm.requestAckDebounce = 20;
    c.sm.on('ack', (stanza) => {
      const id = stanza.attrs.id;
      if (stanza.is('message') && id && this.unacked.delete(id)) this.acked.add(id);
      this.notify();
    });
    c.xmpp.on('disconnect', () => this.notify());
    this.client = c;
    await c.start();
    await c.presence();
    this.resent += this.unacked.size;
    for (const [id, m] of this.unacked) this.write(c, id, m);
  }

  /** Sends a chat message with `id` as its id and origin-id; it stays on the list until acknowledged. */
  send(to: string, id: string, body: string): void {
    this.unacked.set(id, { to, body });
    if (this.connected) this.write(this.client!, id, { to, body });
  }

  /** The same stanza each time it is sent: id and origin-id name the message, not the attempt. */
  private write(c: XmppJsClient, id: string, m: { to: string; body: string }): void {
    const stanza = xml('message', { to: m.to, type: 'chat', id }, xml('body', {}, m.body), xml('origin-id', { xmlns: SID, id }));
    void c.xmpp.send(stanza).catch(() => {});
  }

  /** Resolves when fewer than `n` messages wait for an acknowledgement, or the connection is down. */
  async belowUnacked(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.unacked.size >= n && this.connected) {
      if (Date.now() > deadline) throw new Error(`${this.unacked.size} messages unacknowledged for ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.add(r);
        setTimeout(r, 200);
      });
    }
  }

  async stop(): Promise<void> {
    await this.client?.stop();
  }

  private notify(): void {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }
}
