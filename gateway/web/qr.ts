// The QR code of the share string, as SVG (the `qrcode` package): a friend's phone or webcam reads
// tlsim://<fingerprint>@host:port off the status page instead of someone typing 64 hex digits.
import QRCode from 'qrcode';

const cache = new Map<string, Promise<string>>();

/** An SVG document; error correction M is plenty on a screen and keeps the modules large. */
export function qrSvg(text: string): Promise<string> {
  let svg = cache.get(text);
  if (!svg) {
    // One share string per gateway: the cache holds one entry (two across an onion change).
    if (cache.size > 4) cache.clear();
    svg = QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4, color: { dark: '#000000', light: '#ffffff' } });
    cache.set(text, svg);
  }
  return svg;
}
