// Files between our user and gateway peers over the peer links (wire/file-frames.ts): the sending half
// (file-sender.ts) and the receiving half (file-receiver.ts), wired to the peer manager's events.
import type { Logger } from 'pino';
import type { UploadStore } from '../files/upload-store.js';
import type { Store } from '../store/index.js';
import { FileReceiver } from './file-receiver.js';
import { FileSender } from './file-sender.js';
import type { GatewaySink } from './contract.js';
import type { Inbound } from './inbound.js';
import { displayName, short } from './names.js';
import type { PeerManager } from './peer-protocol.js';

export interface FileTransfersOptions {
  store: Store;
  accountId: number;
  uploads: UploadStore;
  peers: PeerManager;
  log: Logger;
  /** Where a received file's URL goes: archived and delivered as the peer's message. */
  inbound: Pick<Inbound, 'text'>;
  sink(): GatewaySink | undefined;
}

export class FileTransfers {
  private readonly sender: FileSender;
  private readonly receiver: FileReceiver;

  private readonly peers: PeerManager;

  constructor(o: FileTransfersOptions) {
    this.peers = o.peers;
    const log = o.log.child({ part: 'files' });
    const send = o.peers.sendFrame.bind(o.peers);
    const base = { store: o.store, accountId: o.accountId, uploads: o.uploads, log, send };
    const nameOf = (fp: string): string => {
      const c = o.store.contacts.get(o.accountId, fp);
      return c ? displayName(c) : short(fp);
    };
    this.sender = new FileSender({ ...base, isOnline: (fp) => o.peers.isOnline(fp), notify: (text) => o.sink()?.onNotice(text), nameOf });
    // The transfer id makes the message arrive once, whatever happens to the link after the file is in.
    this.receiver = new FileReceiver({ ...base, nameOf, deliver: (fp, tid, url) => o.inbound.text(fp, { text: url, truncated: false, id: `file-${tid}` }) });
    o.peers.on('file', (fp, r) => {
      if (r.type === 'file-reply') this.sender.reply(fp, r);
      else this.receiver.record(fp, r);
    });
    o.peers.on('link-up', ({ fingerprint, protocol }) => {
      if (protocol === 'gateway/3') this.sender.peerUp(fingerprint);
    });
    o.peers.on('link-down', ({ fingerprint }) => {
      this.sender.peerDown(fingerprint);
      this.receiver.peerDown(fingerprint);
    });
  }

  /** A stored file of our user for a gateway peer: kept until it has it all; 'queued' while the peer is offline (dialed). */
  send(fp: string, token: string): 'sending' | 'queued' {
    this.sender.queue(fp, token);
    if (this.peers.isOnline(fp)) return 'sending';
    this.peers.connect(fp);
    return 'queued';
  }

  stop(): void {
    this.sender.stop();
    this.receiver.stop();
  }
}
