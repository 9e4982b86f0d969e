// Types for @xmpp/jid (the package ships none).
declare module '@xmpp/jid' {
  export class JID {
    constructor(local: string | null | undefined, domain: string, resource?: string | null);
    local: string;
    domain: string;
    resource: string;
    toString(unescape?: boolean): string;
    bare(): JID;
    equals(other: JID): boolean;
    getLocal(unescape?: boolean): string;
    getDomain(): string;
    getResource(): string;
  }
  export function jid(address: string): JID;
  export function jid(local: string | null, domain: string, resource?: string | null): JID;
  export function parse(address: string): JID;
  export function equal(a: JID, b: JID): boolean;
  export function escapeLocal(local: string): string;
  export function unescapeLocal(local: string): string;
  export function detectEscape(local: string): boolean;
  export default jid;
}
