import type { FileHandle } from 'node:fs/promises';

/** What an IVF file's header says. */
export interface IvfHeader {
  /** `VP80`, `VP90` or `AV01`. */
  fourcc: string;
  width: number;
  height: number;
  /** Time base: a pts unit is `timebaseNum / timebaseDen` seconds. */
  timebaseDen: number;
  timebaseNum: number;
}

/** One frame's place in the file. */
export interface IvfFrameIndex {
  offset: number;
  size: number;
  pts: number;
}

/** Parses the 32-byte IVF header; throws a plain Error saying what is wrong. */
export function parseIvfHeader(b: Uint8Array): IvfHeader {
  if (b.length < 32) throw new Error('IVF header is shorter than 32 bytes');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!) !== 'DKIF') throw new Error('not an IVF file');
  const headerSize = dv.getUint16(6, true);
  if (headerSize < 32) throw new Error(`IVF header size ${headerSize} is invalid`);
  const timebaseDen = dv.getUint32(16, true);
  const timebaseNum = dv.getUint32(20, true);
  if (timebaseDen === 0 || timebaseNum === 0) throw new Error('IVF time base is zero');
  return {
    fourcc: String.fromCharCode(b[8]!, b[9]!, b[10]!, b[11]!),
    width: dv.getUint16(12, true), height: dv.getUint16(14, true), timebaseDen, timebaseNum,
  };
}

/** True when `b` starts like an IVF file. */
export function isIvf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x44 && b[1] === 0x4b && b[2] === 0x49 && b[3] === 0x46;
}

/**
 * Reads the frame index of an IVF file (12-byte frame headers: size, 64-bit pts), stopping at a
 * truncated last frame. IVF is what per-track VP8/VP9 recordings are written as (egress's track egress).
 */
export async function readIvfIndex(fh: FileHandle, fileSize: number): Promise<{ header: IvfHeader; frames: IvfFrameIndex[]; truncated: boolean }> {
  const head = new Uint8Array(32);
  await fh.read(head, 0, 32, 0);
  const header = parseIvfHeader(head);
  const frames: IvfFrameIndex[] = [];
  const fh12 = new Uint8Array(12);
  const dv = new DataView(fh12.buffer);
  let at = new DataView(head.buffer).getUint16(6, true);
  let truncated = false;
  while (at + 12 <= fileSize) {
    await fh.read(fh12, 0, 12, at);
    const size = dv.getUint32(0, true);
    const pts = Number(dv.getBigUint64(4, true));
    if (at + 12 + size > fileSize) {
      truncated = true;
      break;
    }
    frames.push({ offset: at + 12, size, pts });
    at += 12 + size;
  }
  if (at < fileSize && !truncated) truncated = true;
  return { header, frames, truncated };
}

/** Whether a VP8 or VP9 frame is a keyframe, from its first byte(s). */
export function isVpxKeyframe(fourcc: string, data: Uint8Array): boolean {
  const b0 = data[0] ?? 0xff;
  if (fourcc === 'VP80') return (b0 & 1) === 0;
  // VP9 uncompressed header (profiles 0-2): frame_marker(2) profile(2) show_existing_frame(1) frame_type(1).
  const profile = ((b0 >> 5) & 1) | (((b0 >> 4) & 1) << 1);
  if (profile === 3) return false;
  return ((b0 >> 3) & 1) === 0 && ((b0 >> 2) & 1) === 0;
}
