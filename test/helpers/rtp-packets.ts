import { createRequire } from 'node:module';
import type { Depacketize } from '../../src/sources/rtp/frame-assembler.js';
import type { RtpPacketLike } from '../../src/sources/rtp/jitter-buffer.js';

// werift's CommonJS build, as avpipe loads it.
const { Vp8Packetizer, dePacketizeRtpPackets } = createRequire(import.meta.url)('werift/nonstandard') as typeof import('werift/nonstandard');

/** werift's VP8 RTP packetizer (RFC 7741). */
export { Vp8Packetizer };

/** werift's depacketizers, as the WebRTC source injects them into the RTP cores. */
export const depacketize: Depacketize = (codec, packets) => dePacketizeRtpPackets(codec as never, packets as never).data;

/** A bare RTP packet: sequence number `seq` (wrapped to 16 bits), RTP time `ts`, no payload. */
export const pkt = (seq: number, ts = seq * 3000, marker = true): RtpPacketLike => ({
  header: { sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, marker, payloadType: 96, ssrc: 1 },
  payload: Buffer.alloc(0),
});

/** A VP8 key frame header (RFC 6386 9.1) for `w` x `h`, padded to `size` bytes. */
export function vp8Key(w: number, h: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x55);
  b.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8]);
  return b;
}

/** A VP8 inter frame of `size` bytes (frame tag bit 0 = 1). */
export const vp8Delta = (size: number): Buffer => Buffer.alloc(size, 0x31);

/** A frame's RTP packets from packetizer `p`, at RTP time `ts`. */
export const packetize = (p: InstanceType<typeof Vp8Packetizer>, frame: Buffer, ts: number): RtpPacketLike[] => p.packetize(frame, ts) as unknown as RtpPacketLike[];
