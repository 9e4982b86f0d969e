// Minimal types for the @xmpp/* 0.14 modules clients/xmppjs/client.ts composes (they ship none).
declare module '@xmpp/xml' {
  export class Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<Element | string>;
    constructor(name: string, attrs?: Record<string, unknown>);
    is(name: string, xmlns?: string): boolean;
    getNS(): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getChildElements(): Element[];
    text(): string;
    toString(): string;
  }
  export default function xml(name: string, attrs?: Record<string, unknown> | null, ...children: Array<Element | string>): Element;
}

declare module '@xmpp/client-core' {
  import type { Element } from '@xmpp/xml';
  import type { JID } from '@xmpp/jid';
  export class Client {
    constructor(options: Record<string, unknown>);
    jid: JID | null;
    status: string;
    socket: unknown;
    options: { domain: string; service?: string; [k: string]: unknown };
    transports: unknown[];
    on(event: string, fn: (...args: any[]) => void): this;
    once(event: string, fn: (...args: any[]) => void): this;
    off(event: string, fn: (...args: any[]) => void): this;
    removeAllListeners(event?: string): this;
    emit(event: string, ...args: unknown[]): boolean;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(el: Element): Promise<void>;
    sendReceive(el: Element, timeout?: number): Promise<Element>;
    restart(): Promise<void>;
    isSecure(): boolean;
    _attachSocket(socket: unknown): void;
    _detachSocket(): void;
  }
  export { default as xml } from '@xmpp/xml';
  export { jid } from '@xmpp/jid';
}

declare module '@xmpp/starttls/starttls.js' {
  export function canUpgrade(socket: unknown): boolean;
  export function upgrade(socket: unknown, options?: Record<string, unknown>): Promise<unknown>;
}

declare module '@xmpp/reconnect' {
  const f: (deps: Record<string, unknown>) => { stop(): void; [k: string]: unknown };
  export default f;
}
declare module '@xmpp/websocket' {
  const f: (deps: Record<string, unknown>) => unknown;
  export default f;
}
declare module '@xmpp/tcp' {
  const f: (deps: Record<string, unknown>) => unknown;
  export default f;
}
declare module '@xmpp/tls' {
  const f: (deps: Record<string, unknown>) => unknown;
  export default f;
}
declare module '@xmpp/middleware' {
  const f: (deps: Record<string, unknown>) => { use(fn: (ctx: any, next: () => Promise<unknown>) => unknown): unknown };
  export default f;
}
declare module '@xmpp/stream-features' {
  const f: (deps: Record<string, unknown>) => {
    use(name: string, xmlns: string, handler: (ctx: any, next: () => Promise<unknown>, feature: import('@xmpp/xml').Element) => unknown): unknown;
  };
  export default f;
}
declare module '@xmpp/iq/caller.js' {
  import type { Element } from '@xmpp/xml';
  const f: (deps: Record<string, unknown>) => {
    request(el: Element, timeout?: number): Promise<Element>;
    get(child: Element, to?: string, timeout?: number): Promise<Element>;
    set(child: Element, to?: string, timeout?: number): Promise<Element>;
  };
  export default f;
}
declare module '@xmpp/iq/callee.js' {
  const f: (deps: Record<string, unknown>) => { get(ns: string, name: string, fn: (ctx: any) => unknown): void };
  export default f;
}
declare module '@xmpp/resolve' {
  const f: (deps: Record<string, unknown>) => unknown;
  export default f;
}
declare module '@xmpp/sasl2' {
  const f: (deps: Record<string, unknown>, onAuthenticate: unknown) => { setup(o: Record<string, unknown>): void };
  export default f;
}
declare module '@xmpp/sasl' {
  const f: (deps: Record<string, unknown>, onAuthenticate: unknown) => unknown;
  export default f;
}
declare module '@xmpp/resource-binding' {
  const f: (deps: Record<string, unknown>, resource?: string) => unknown;
  export default f;
}
declare module '@xmpp/stream-management' {
  const f: (deps: Record<string, unknown>) => {
    id: string | null;
    enabled: boolean;
    /** Milliseconds after the last stanza before an <r/> goes out (default 250). */
    requestAckDebounce: number;
    /** 'ack': the server acknowledged the stanza (<a/>); 'fail': it never will (the stream ended, resumption failed). */
    on(event: 'ack' | 'fail', listener: (stanza: import('@xmpp/xml').Element) => void): void;
    [k: string]: unknown;
  };
  export default f;
}
declare module '@xmpp/client-core/src/bind2/bind2.js' {
  const f: (deps: Record<string, unknown>, resource?: string) => unknown;
  export default f;
}
declare module '@xmpp/client-core/src/fast/fast.js' {
  const f: (deps: Record<string, unknown>) => { saslFactory: unknown; fetch(): Promise<unknown> };
  export default f;
}
declare module '@xmpp/sasl-scram-sha-1' {
  const f: (factory: unknown) => unknown;
  export default f;
}
declare module '@xmpp/sasl-plain' {
  const f: (factory: unknown) => unknown;
  export default f;
}
declare module '@xmpp/sasl-anonymous' {
  const f: (factory: unknown) => unknown;
  export default f;
}
declare module '@xmpp/sasl-ht-sha-256-none' {
  const f: (factory: unknown) => unknown;
  export default f;
}
declare module 'saslmechanisms' {
  export default class SASLFactory {
    _mechs: Array<{ name: string }>;
  }
}
