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


/**
 * What is wrong with an OpusHead (RFC 7845 5.1), or undefined when it is sound: the magic, a version
 * this reader knows (major 0), a channel count that its mapping family allows, and the mapping table
 * the family needs. A damaged one copied into a file makes that file unreadable to others (FFmpeg).
 */
export function opusHeadProblem(head: Uint8Array): string | undefined {
  if (head.byteLength < 19 || String.fromCharCode(...head.subarray(0, 8)) !== 'OpusHead') return 'no OpusHead magic';
  if (head[8]! >> 4 !== 0) return `unknown version ${head[8]}`;
  const channels = head[9]!;
  const family = head[18]!;
  if (channels === 0) return 'zero channels';
  if (family === 0 && channels > 2) return `${channels} channels with mapping family 0 (at most 2)`;
  if (family !== 0 && head.byteLength < 21 + channels) return `mapping family ${family} without its channel mapping table`;
  return undefined;
}
