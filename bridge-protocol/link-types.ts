// The types of a link (link.ts): its events, options and close reasons, apart from the class so that the
// modules around it can name them without the TLS code.
import type { Logger } from './logger.js';
import type { TurnPacer } from './turn-pacer.js';
import type { DecodedMessage } from './wire/line-codec.js';
import type { FileRecord } from './wire/file-frames.js';
import type { LinkChatState, LinkMarker } from './wire/link-frames.js';
import type { RoomRecord } from './wire/room-frames.js';

/** A peer's answer to a profile request: its Turtle, or why it has none. */
export type LinkProfile = { turtle: string; none?: undefined } | { none: string; turtle?: undefined };

export type LinkSide = 'client' | 'server';

/** Why a link ended: stable words for programs. */
export type LinkCloseReason =
  /** We closed it (close()). */
  | 'local'
  /** The peer closed it (close_notify or FIN). */
  | 'remote'
  /** A socket or TLS error. */
  | 'error'
  /** Another link with the same peer took its place. */
  | 'replaced';

export interface LinkCloseInfo {
  reason: LinkCloseReason;
  error?: Error;
}

/** A message as a link delivers it; id and requests come only from a gateway link with frames (gateway/3). */
export interface LinkMessage extends DecodedMessage {
  /** The sending gateway's id for it: what a marker about it names. */
  id?: string;
  /** The sender asks for a receipt (XEP-0184). */
  receipt?: boolean;
  /** The sender's message is markable (XEP-0333). */
  markable?: boolean;
}

export interface LinkEvents {
  [event: string]: (...args: any[]) => void;
  message: (message: LinkMessage) => void;
  /** gateway/3 only: the peer's user's client got (or displayed) our message `id`. */
  marker: (marker: LinkMarker, id: string) => void;
  /** gateway/3 only: the peer's user is typing, paused, ... */
  'chat-state': (state: LinkChatState) => void;
  /** gateway/3 only: the peer asks for our FOAF profile (answer with sendRecord, type 'profile'). */
  'profile-request': () => void;
  /** gateway/3 only: the peer's answer to our profile request (unchecked text: the receiver checks it). */
  profile: (answer: LinkProfile) => void;
  /** gateway/3 only: a file offer, reply or chunk (wire/file-frames.ts). */
  file: (record: FileRecord) => void;
  /** room/1 only: a room frame (wire/room-frames.ts). */
  room: (record: RoomRecord) => void;
  close: (info: LinkCloseInfo) => void;
}

export interface LinkOptions {
  handshakeTimeoutMs?: number;
  signal?: AbortSignal;
  /** Longest message accepted before it is cut (bytes). */
  maxMessageBytes?: number;
  /**
   * The gateway ALPN ids we offer (dialing) or select (accepting), best first; default GATEWAY_ALPNS. Fewer
   * make an older gateway (tests; an operator's way back).
   */
  gatewayAlpns?: readonly string[];
  log?: Logger;
  /** Where the link's socket teardown waits its turn (default the process's: teardownPacer()). */
  pacer?: TurnPacer;
}

export interface DialLinkOptions extends LinkOptions {
  /** The fingerprint the peer must present; another one is a FingerprintMismatchError. */
  expectedFingerprint?: string;
  /** For messages: where we dialed. */
  address?: string;
}
