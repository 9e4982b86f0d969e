// Two connected byte streams before TLS, over real TCP on 127.0.0.1 or the in-memory pair: the transports every
// link compliance suite runs over.
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { memoryDuplexPair } from '../../bridge-protocol/transport/memory.js';
import { closeServer, connectTcp, listenLocal } from './net.js';

/** Two connected byte streams, before TLS: what dialLink and acceptLink are given. */
export interface Wire {
  name: string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  connect(): Promise<{ dialer: Duplex; acceptor: Duplex }>;
}

export function tcpWire(): Wire {
  let server: Server;
  let port = 0;
  const waiting: ((s: Socket) => void)[] = [];
  return {
    name: 'TCP on 127.0.0.1',
    async setup() {
      server = createServer((s) => waiting.shift()?.(s));
      port = await listenLocal(server);
    },
    async teardown() {
      await closeServer(server);
    },
    async connect() {
      const accepted = new Promise<Socket>((resolve) => waiting.push(resolve));
      const dialer = await connectTcp(port);
      return { dialer, acceptor: await accepted };
    },
  };
}

export function memoryWire(): Wire {
  return {
    name: 'in-memory pair',
    async connect() {
      const [dialer, acceptor] = memoryDuplexPair();
      return { dialer, acceptor };
    },
  };
}
