import { annexBToAvcc } from '../codecs/avc.js';
import type { EncodedChunk } from '../media/encoded-chunk.js';

/**
 * FLV tag bodies (Adobe FLV spec, E.4) for H.264 and AAC: what RTMP carries in its video and audio
 * messages. Timestamps are the tag's DTS in milliseconds; H.264 tags carry PTS - DTS beside it.
 */

/** AVC sequence header: the avcC record (decoder config description). */
export function avcSequenceHeader(avcc: Uint8Array): Uint8Array {
  return concat([0x17, 0x00, 0, 0, 0], avcc);
}

/**
 * One H.264 access unit, as AVCC (length-prefixed NAL units). `annexB`: the chunk has start codes
 * (an encoder without an avcC) and is converted. Told, not sniffed: a 4-byte length of 256-511
 * begins with 00 00 01 too.
 */
export function avcFrame(chunk: EncodedChunk, compositionMs: number, annexB: boolean): Uint8Array {
  const cts = Math.max(-0x800000, Math.min(0x7fffff, Math.round(compositionMs)));
  const data = annexB ? annexBToAvcc(chunk.data) : chunk.data;
  return concat([chunk.type === 'key' ? 0x17 : 0x27, 0x01, (cts >> 16) & 0xff, (cts >> 8) & 0xff, cts & 0xff], data);
}

/** AVC end of sequence. */
export function avcEndOfSequence(): Uint8Array {
  return Uint8Array.from([0x17, 0x02, 0, 0, 0]);
}

/** AAC sequence header: the AudioSpecificConfig. 0xAF = AAC, 44 kHz flag, 16-bit, stereo (fixed for AAC). */
export function aacSequenceHeader(asc: Uint8Array): Uint8Array {
  return concat([0xaf, 0x00], asc);
}

/** One raw AAC frame. */
export function aacFrame(chunk: EncodedChunk): Uint8Array {
  return concat([0xaf, 0x01], chunk.data);
}

function concat(head: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + body.byteLength);
  out.set(head);
  out.set(body, head.length);
  return out;
}
