/**
 * An OpusHead (RFC 7845 5.1): version 1, `channels`, a pre-skip (default 312 samples, libopus' lookahead
 * at 48 kHz, which WebRTC senders use), 48 kHz, gain 0, mapping family 0.
 */
export function opusHead(channels: number, preSkip = 312): Uint8Array {
  const head = new Uint8Array(19);
  head.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, channels]);
  const view = new DataView(head.buffer);
  view.setUint16(10, preSkip, true);
  view.setUint32(12, 48000, true);
  return head;
}

