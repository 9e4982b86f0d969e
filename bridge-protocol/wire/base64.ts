// Base64 as RFC 4648 §4 writes it, read strictly: for the frames and stanzas that carry bytes as text.

/**
 * The bytes `text` spells in base64 (padded), or undefined when it is not exactly that spelling: Buffer.from skips
 * what is not base64 and reads "A", "QR==" or base64url as other bytes than were sent; only what encodes back is taken.
 */
export function canonicalBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
