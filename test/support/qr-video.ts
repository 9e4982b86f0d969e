// A camera for headless Chromium: a Y4M clip (the format of --use-file-for-fake-video-capture) that
// shows one QR code, as a phone held up to the webcam would. Drawn from the qrcode package's module
// matrix: black modules on white with the quiet zone the standard asks for, in 4:2:0 greyscale.
import { writeFile } from 'node:fs/promises';
import QRCode from 'qrcode';

const W = 640;
const H = 480;
const FRAMES = 10;
const QUIET_MODULES = 4;

/** Writes the clip to `file` and returns the Chromium flags that make it the camera. */
export async function writeQrCamera(file: string, text: string): Promise<string[]> {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const scale = Math.floor(Math.min(W, H) / (modules.size + 2 * QUIET_MODULES));
  const side = scale * modules.size;
  const left = Math.floor((W - side) / 2);
  const top = Math.floor((H - side) / 2);
  const luma = Buffer.alloc(W * H, 235);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (modules.get(Math.floor(y / scale), Math.floor(x / scale))) luma[(top + y) * W + left + x] = 16;
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`);
  await writeFile(file, Buffer.concat([header, ...Array.from({ length: FRAMES }, () => frame)]));
  return ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${file}`];
}
