// Acknowledgements and "end of messages" between two gateways (ALPN x-tlsim-gateway/2 and /3; PROTOCOL.md "Extensions").
// Pure: no sockets, timers or logging.
//
// Why: a message written to a link may still be on its way when the link ends, and over Tor an end is never a
// half-close (the first FIN tears the whole stream down, with whatever was still travelling towards the side
// that sent it). So between gateways the receiver acknowledges what it read, the sender counts a message as
// delivered only once acknowledged, and a link is closed only after both sides said they send no more.
//
// Both are single bytes that never occur in a message: our encoder writes valid UTF-8, where 0xFE and 0xFF
// cannot appear (nor in a /3 frame, wire/link-frames.ts). A reference peer never sees them (it offers no ALPN).

/** One per LF read: "I have read up to this LF of what you wrote". */
export const ACK = 0xfe;
/** "No more messages from me on this link" (acknowledgements may still follow). */
export const END = 0xff;

export const END_BYTES = Buffer.from([END]);

export interface ControlSplit {
  /** The message bytes, in order, without control bytes. */
  data: Buffer;
  /** Acknowledgements received. */
  acks: number;
  /** The peer's END came. */
  end: boolean;
}

/** Separates a received chunk into message bytes and control bytes. */
export function splitControl(chunk: Buffer): ControlSplit {
  if (chunk.indexOf(ACK) < 0 && chunk.indexOf(END) < 0) return { data: chunk, acks: 0, end: false };
  const data = Buffer.allocUnsafe(chunk.length);
  let n = 0;
  let acks = 0;
  let end = false;
  for (const byte of chunk) {
    if (byte === ACK) acks++;
    else if (byte === END) end = true;
    else data[n++] = byte;
  }
  return { data: data.subarray(0, n), acks, end };
}

/** The acknowledgements a message needs, or that message bytes read are owed: one per LF. */
export function countLf(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}

export function ackBytes(count: number): Buffer {
  return Buffer.alloc(count, ACK);
}
