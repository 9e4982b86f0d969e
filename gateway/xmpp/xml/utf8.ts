// Streaming UTF-8 decoding for XML streams (RFC 6120 §11.6: streams are UTF-8 only).
// A character split across reads is held back until its last byte arrives; an invalid
// sequence is a stream error, never a silent U+FFFD.
import { StreamError } from '../errors.js';

export class Utf8StreamDecoder {
  // fatal: invalid bytes throw instead of becoming U+FFFD; stream: keep partial characters.
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

  /** Decodes one read; returns only complete characters. Throws StreamError on invalid UTF-8. */
  decode(chunk: Uint8Array): string {
    try {
      return this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new StreamError('not-well-formed', 'invalid UTF-8');
    }
  }

  /** Flushes at end of input: a dangling partial character is an error. */
  end(): string {
    try {
      return this.decoder.decode();
    } catch {
      throw new StreamError('not-well-formed', 'truncated UTF-8 sequence');
    }
  }
}
