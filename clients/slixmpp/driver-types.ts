// The commands, results and events of the slixmpp driver (driver.py), as the TypeScript side sees them.

export interface ConnectCommand {
  jid: string;
  password: string;
  host?: string;
  port: number;
  /** Force one SASL mechanism (slixmpp's sasl_mech). */
  mechanism?: 'SCRAM-SHA-1' | 'SCRAM-SHA-256' | 'PLAIN' | (string & {});
  /** PEM CA to verify the server certificate with (hostname checked against the JID domain). */
  ca_file?: string;
  /** false: accept any certificate. Default: verify. */
  tls_verify?: boolean;
  /** 'required' (default): fail without STARTTLS; 'try': use it if offered; 'off': never. */
  starttls?: 'required' | 'try' | 'off';
  /**
   * An incoming subscribe: true (default) approves it (what a client does once its user clicks
   * "accept"), false refuses it (unsubscribed), null leaves it pending for a `presence` command.
   */
  auto_authorize?: boolean | null;
  /** After approving, subscribe back (default true). */
  auto_subscribe?: boolean;
  /** (Additive) slixmpp puts a XEP-0359 <origin-id/> (= the message id) in every message it sends. */
  origin_id?: boolean;
  /** (Additive) false: no presence at session start (a client that syncs history first); default true. */
  initial_presence?: boolean;
  /** (Additive) <priority/> of the initial presence (RFC 6121 §4.7.2.3); none (0) by default. */
  priority?: number;
  /** Answer every XEP-0184 <request/> with <received/> at once (default true, as Conversations, Gajim, Dino). */
  auto_receipts?: boolean;
  /** (Additive) Load slixmpp's PEP plugins (xep_0115 caps, 0060, 0163, 0084, 0223, 0048). */
  pep?: boolean;
  /** (Additive) With `pep`: nodes to want notifications of (+notify in our caps). */
  notify?: string[];
  /** (Additive) false: our disco#info names no jabber:x:oob (as libpurple's; by default it does, as Conversations'). */
  oob?: boolean;
  /** (Additive) Files offered to us (XEP-0096): told as si_offer events; accepted ones written to `dir`. */
  si_receive?: { dir: string; answer?: 'accept' | 'decline' | 'ignore'; timeout?: number };
}

/** One XEP-0313 result as the driver reports it: the archive id and the forwarded message. */
export interface MamResultItem {
  id: string;
  queryid: string | null;
  stamp: string | null;
  from: string | null;
  to: string | null;
  type: string | null;
  msg_id: string | null;
  body: string | null;
  origin_id: string | null;
  stanza_id: string | null;
  stanza_id_by: string | null;
}

/** One page: the <fin/>'s RSM set and complete flag, and its results in the order received. */
export interface MamPage {
  first: string | null;
  last: string | null;
  count: number | null;
  complete: boolean;
  results: MamResultItem[];
}

export interface MamCommand {
  /** The archive (default the account's bare JID). */
  jid?: string;
  with?: string;
  start?: string;
  end?: string;
  /** Results per page (default 10). */
  max?: number;
  /** Page backwards from the newest (RSM <before/>). */
  reverse?: boolean;
  max_pages?: number;
  timeout?: number;
}

export type ChatStateName = 'active' | 'composing' | 'paused' | 'inactive' | 'gone';
/** 'receipt': XEP-0184 <received/>; the others: XEP-0333 chat markers. */
export type MarkerName = 'receipt' | 'received' | 'displayed' | 'acknowledged';

export interface SendOptions {
  msg_id?: string;
  /** (Additive) The message type (default chat); groupchat to a room. */
  type?: string;
  /** XEP-0184 <request/>. */
  receipt?: boolean;
  /** XEP-0333 <markable/>. */
  markable?: boolean;
  /** A XEP-0085 state sent with the message. */
  state?: ChatStateName;
  /** (Additive) A XEP-0066 <x xmlns='jabber:x:oob'><url/></x> with the body. */
  oob_url?: string;
  /** (Additive) Load slixmpp's PEP plugins (xep_0115 caps, 0060, 0163, 0084, 0223, 0048). */
  pep?: boolean;
  /** (Additive) With `pep`: nodes to want notifications of (+notify in our caps). */
  notify?: string[];
}

/** (Additive) A Bookmark as XEP-0048 writes it. */
export interface Conference {
  jid: string;
  name?: string;
  autojoin?: boolean;
  nick?: string;
}

export type BookmarkMethod = 'xep_0223' | 'xep_0049';

/** A data form field value: text-multi is one string with newlines; list-multi/jid-multi a list. */
export type FieldValue = string | string[] | boolean;

export interface DataFormField {
  var: string | null;
  /** 'text-single' when the form gave no type. */
  type: string;
  label: string | null;
  required: boolean;
  value: FieldValue | null;
  options: { label: string | null; value: string }[];
}

/** A XEP-0004 data form as the driver reports it. */
export interface DataForm {
  type: 'form' | 'submit' | 'cancel' | 'result' | (string & {});
  title: string | null;
  instructions: string | null;
  fields: DataFormField[];
  /** Multi-item results (XEP-0004 §3.4) only. */
  reported?: string[];
  items?: Record<string, FieldValue | null>[];
}

/** A XEP-0077 registration form (the answer to an iq get on jabber:iq:register). */
export interface RegistrationForm {
  from: string;
  instructions: string | null;
  /** Legacy fields (<username/>, <password/>, …) with the values the server filled in. */
  fields: { name: string; value: string }[];
  /** The x:data form, when the server offered one. */
  form: DataForm | null;
  /** The server said <registered/>. */
  registered: boolean;
}

export interface RegistrationResult extends Omit<RegistrationForm, 'registered'> {
  /** Whether the form had said <registered/> before the submission. */
  was_registered: boolean;
  /** The data form when one was offered, else legacy fields. */
  submitted: 'form' | 'legacy';
  registered: true;
}

export interface AdHocItem {
  jid: string;
  node: string;
  name: string | null;
}

/** Where an ad-hoc command ended (after its execute, and the submission of its form if fields were given). */
export interface AdHocResult {
  node: string;
  sessionid: string | null;
  status: 'executing' | 'completed' | 'canceled' | (string & {});
  actions: string[];
  notes: { type: 'info' | 'warn' | 'error' | (string & {}); text: string | null }[];
  forms: DataForm[];
  /** 1: execute only; 2: the form was submitted too. */
  steps: number;
}

export type Command =
  | ({ cmd: 'connect' } & ConnectCommand)
  | { cmd: 'reconnect' }
  | ({ cmd: 'send'; to: string; body: string; type?: string } & SendOptions)
  /** `type`: the message's type (groupchat for a marker to a room); absent: slixmpp's xep_0333 send_marker. */
  | { cmd: 'marker'; to: string; msg_id: string; marker: MarkerName; type?: 'chat' | 'groupchat' }
  | { cmd: 'chat_state'; to: string; state: ChatStateName }
  | { cmd: 'presence'; to?: string; type?: string; priority?: number }
  /** (Additive) XEP-0045 join: presence to room/nick with <x xmlns='http://jabber.org/protocol/muc'/>. */
  | { cmd: 'muc_join'; to: string; history?: { maxstanzas?: number; maxchars?: number; seconds?: number; since?: string } }
  /** (Additive) XEP-0045 §7.8.2 mediated invitation: a message to the room with <invite to=…/>. */
  | { cmd: 'muc_invite'; room: string; to: string; reason?: string }
  /** (Additive) XEP-0249 direct invitation: a message to the contact with <x xmlns='jabber:x:conference' jid=room/>. */
  | { cmd: 'direct_invite'; to: string; room: string; reason?: string }
  /** XEP-0280 enable (default) or disable. */
  | { cmd: 'carbons'; enable?: boolean; timeout?: number }
  | { cmd: 'ping'; to?: string; timeout?: number }
  | { cmd: 'disco_info'; to: string; node?: string; timeout?: number }
  | { cmd: 'disco_items'; to: string; node?: string; timeout?: number }
  | { cmd: 'roster'; timeout?: number }
  | { cmd: 'disconnect'; wait?: number }
  | { cmd: 'drop_tcp' }
  | { cmd: 'register_form'; to: string; timeout?: number }
  | { cmd: 'register'; to: string; fields?: Record<string, FieldValue>; timeout?: number }
  | { cmd: 'unregister'; to: string; timeout?: number }
  | { cmd: 'adhoc_list'; to: string; timeout?: number }
  | { cmd: 'adhoc'; to: string; node: string; fields?: Record<string, FieldValue>; timeout?: number }
  | ({ cmd: 'mam' } & MamCommand)
  /** (Additive) XEP-0055 user search with slixmpp's xep_0055, as a data form. */
  | { cmd: 'search'; to: string; fields: Record<string, FieldValue>; timeout?: number }
  | { cmd: 'roster_ver'; ver?: string; timeout?: number }
  | { cmd: 'pep_publish'; node: string; payload: string; item_id?: string; options?: Record<string, FieldValue>; timeout?: number }
  | { cmd: 'pep_items'; node: string; max?: number; ids?: string[]; timeout?: number }
  | { cmd: 'pep_retract'; node: string; item_id: string; notify?: boolean; timeout?: number }
  | { cmd: 'avatar_publish'; data: string; type: string; width?: number; height?: number; timeout?: number }
  | { cmd: 'bookmarks_set'; method: BookmarkMethod; conferences: Conference[]; timeout?: number }
  | { cmd: 'bookmarks_get'; method: BookmarkMethod; timeout?: number }
  /** (Additive) XEP-0363 with slixmpp's xep_0363 (service found by disco, PUT with aiohttp). */
  | { cmd: 'upload'; path: string; content_type?: string; domain?: string; timeout?: number }
  /** (Additive) GET a URL (verified against the connect command's ca_file). */
  | { cmd: 'download'; url: string; timeout?: number }
  /** (Additive) Pidgin's Send File…: XEP-0096 offer, then XEP-0047 in-band bytes. */
  | { cmd: 'si_send'; to: string; path: string; content_type?: string; block_size?: number; timeout?: number };

export interface RosterItem {
  jid: string;
  name: string;
  subscription: string;
  ask: string | null;
  groups: string[];
}

export interface DiscoInfo {
  from: string;
  identities: { category: string; type: string; name: string | null; lang: string | null }[];
  features: string[];
}

export type SlixEvent =
  | { event: 'si_offer'; from: string; sid: string; name: string; size: number; hash: string | null; mime_type: string | null }
  | { event: 'si_received'; from: string; sid: string; size: number; sha256: string; path: string }
  | { event: 'si_failed'; sid: string; error: string }
  | { event: 'ready'; slixmpp: string }
  | { event: 'connected' }
  | { event: 'tls' }
  | { event: 'tls_invalid'; reason: string }
  | { event: 'auth'; mechanism: string | null; offered: string[] }
  | { event: 'failed_auth'; condition: string; text: string }
  | { event: 'failed_all_auth' }
  | { event: 'session_start'; jid: string; mechanism: string | null; sm_id: string | null }
  | { event: 'sm_enabled'; id: string | null; resume: boolean }
  | { event: 'sm_failed'; xml: string }
  | { event: 'resumed' }
  /** delay: the XEP-0203 stamp exactly as the sender wrote it, null without <delay/>. */
  | {
      event: 'message';
      from: string;
      body: string;
      type: string;
      id: string;
      delay: string | null;
      /** (Additive) The XEP-0359 <stanza-id/> the server gave it, or null. */
      stanza_id?: string | null;
      stanza_id_by?: string | null;
      /** It carries a XEP-0184 <request/>. */
      receipt_request: boolean;
      /** It carries a XEP-0333 <markable/>. */
      markable: boolean;
      /** Its XEP-0085 chat state, if any. */
      state: ChatStateName | null;
      /** (Additive) The <subject/> text (group chat), or null. */
      subject?: string | null;
      /** (Additive) The first XEP-0066 OOB URL, or null. */
      oob_url?: string | null;
    }
  /** A XEP-0184 <received/> for our message `id`. */
  | { event: 'receipt'; from: string; id: string }
  /** A XEP-0333 marker for our message `id`. */
  | { event: 'marker'; from: string; marker: Exclude<MarkerName, 'receipt'>; id: string; type: string }
  /** Every message with a XEP-0085 state; body: whether it also had a body. */
  | { event: 'chat_state'; from: string; state: ChatStateName; body: boolean }
  /** Availability only ('available', 'unavailable', 'error', 'probe'); subscriptions are `subscription`. */
  | {
      event: 'presence';
      from: string;
      type: string;
      show: string;
      status: string;
      /** (Additive) MUC (XEP-0045 muc#user): status codes and the item's role; null outside a room. */
      muc_codes?: string[] | null;
      muc_role?: string | null;
      /** (Additive) The <error/> of an error presence, as XML. */
      error?: string | null;
    }
  /** nick: XEP-0172 <nick/> in the presence, or null. */
  | { event: 'subscription'; from: string; type: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed'; nick: string | null }
  | { event: 'roster'; items: RosterItem[] }
  /** XEP-0280: the message a carbon forwards (its wrapper also arrives as a `message` with an empty body). */
  | { event: 'carbon_received' | 'carbon_sent'; from: string; to: string; body: string; type: string; id: string }
  /** (Additive) One item of a PEP notification (connect with `pep`). */
  | { event: 'pep_event'; node: string; kind: 'publish' | 'retract'; item_id: string | null; xml: string }
  | { event: 'stream_error'; condition: string; text: string }
  | { event: 'connection_failed'; reason: string }
  | { event: 'disconnected'; reason: string | null }
  | { event: 'result'; id: string | null; cmd: string; [k: string]: unknown }
  | {
      event: 'error';
      id?: string | null;
      cmd?: string;
      /** 'iq error' (a stanza error: condition, type, text, xml), 'iq timeout', 'not connected', or a Python exception. */
      error: string;
      condition?: string;
      type?: string;
      text?: string;
      xml?: string;
      trace?: string;
    };

interface Results {
  ping: { type: string; from: string };
  disco_info: DiscoInfo;
  disco_items: { from: string; items: { jid: string; node: string | null; name: string | null }[] };
  roster: { items: RosterItem[] };
  send: { msg_id: string };
  upload: { url: string; service: string; max_file_size: number };
  si_send: { method: string; sid: string };
  download: { status: number; size: number; sha256: string; content_type: string | null; disposition: string | null; csp: string | null };
  register_form: RegistrationForm;
  register: RegistrationResult;
  unregister: { from: string };
  adhoc_list: { items: AdHocItem[] };
  adhoc: AdHocResult;
  mam: { pages: MamPage[] };
  search: { form: DataForm | null; legacy: string[]; result: DataForm | null };
  carbons: { type: string };
  roster_ver: { advertised: boolean; query: boolean; ver: string | null; items: { jid: string; name: string }[] };
  pep_publish: { item_id: string };
  pep_items: { items: { item_id: string; xml: string }[] };
  avatar_publish: { item_id: string };
  bookmarks_get: { conferences: Required<Conference>[] };
}

export type CarbonEvent = Extract<SlixEvent, { event: 'carbon_received' | 'carbon_sent' }>;

export type ResultOf<C extends Command['cmd']> = C extends keyof Results ? Results[C] : Record<string, unknown>;
