// Hostile or broken clients for the bad-input catalogue: raw TCP to the XMPP port, raw TLS to the peer
// port. Each collects what the gateway answered and resolves when the gateway closes the connection.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { STREAM_NS } from '../../../gateway/xmpp/stanza.js';

const STREAMS_NS = 'urn:ietf:params:xml:ns:xmpp-streams';

export interface RawConnection<S extends Socket = Socket> {
  socket: S;
  /** What the gateway sent so far. */
  received(): string;
  /** Resolves once the gateway (or the network) closed the connection. */
  closed: Promise<void>;
  /** The defined condition of the stream error the gateway sent, if any. */
  streamError(): string | undefined;
}

function collect<S extends Socket>(socket: S): RawConnection<S> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const received = (): string => Buffer.concat(chunks).toString('utf8');
  return {
    socket,
    received,
    closed,
    streamError: () => new RegExp(`<([a-z-]+) xmlns=['"]${STREAMS_NS}['"]`).exec(received())?.[1],
  };
}

/** A TCP connection to the XMPP port, the stream header already sent. */
export async function rawXmpp(port: number, opts: { header?: boolean } = {}): Promise<RawConnection> {
  const socket = netConnect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const conn = collect(socket);
  if (opts.header !== false) socket.write(xmppHeader());
  return conn;
}

export function xmppHeader(to = 'localhost'): string {
  return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${STREAM_NS}' to='${to}' version='1.0'>`;
}

/** Writes `total` bytes of `chunk` repeated, with backpressure, until done or the gateway cut us. */
export async function flood(socket: Socket, chunk: string | Buffer, total: number): Promise<number> {
  let written = 0;
  while (written < total && !socket.destroyed && socket.writable) {
    written += chunk.length;
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
  }
  return written;
}

/** A TLS connection to the peer port with a certificate (or none), offering `alpn` if given. */
export async function rawPeer(
  port: number,
  opts: { key?: string; cert?: string; alpn?: string[] } = {},
): Promise<RawConnection<TLSSocket> & { secure: Promise<boolean> }> {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    ...(opts.key && { key: opts.key, cert: opts.cert }),
    ...(opts.alpn && { ALPNProtocols: opts.alpn }),
  });
  const conn = collect(socket);
  const secure = new Promise<boolean>((resolve) => {
    socket.once('secureConnect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  return { ...conn, secure };
}

/** A plain TCP connection to any port (TLS garbage, slow or half-open connections). */
export async function rawTcp(port: number): Promise<RawConnection> {
  const socket = netConnect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return collect(socket);
}
