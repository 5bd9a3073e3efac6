import type { FileHandle } from 'node:fs/promises';

/** One access unit's place in an Annex B file, and whether it holds an IDR slice. */
export interface AccessUnitIndex {
  offset: number;
  size: number;
  key: boolean;
}

/** What an SPS says about the picture. */
export interface SpsInfo {
  profileIdc: number;
  constraints: number;
  levelIdc: number;
  width: number;
  height: number;
}

/** True when `b` starts with an Annex B start code and a plausible first NAL (AUD, SPS, SEI, slice). */
export function isAnnexB(b: Uint8Array): boolean {
  const at = b[2] === 1 ? 3 : b[2] === 0 && b[3] === 1 ? 4 : -1;
  if (b[0] !== 0 || b[1] !== 0 || at < 0) return false;
  const type = (b[at] ?? 0) & 0x1f;
  return (b[at]! & 0x80) === 0 && [1, 5, 6, 7, 9].includes(type);
}

/** Reads bits MSB-first from an RBSP (emulation prevention bytes already removed). */
class BitReader {
  private _bit = 0;
  constructor(private readonly _b: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this._b[this._bit >> 3];
      if (byte === undefined) throw new Error('SPS ends early');
      v = (v << 1) | ((byte >> (7 - (this._bit & 7))) & 1);
      this._bit++;
    }
    return v >>> 0;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new Error('bad exp-Golomb code in SPS');
    return (2 ** zeros - 1) + (zeros > 0 ? this.u(zeros) : 0);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 0 ? -(k / 2) : (k + 1) / 2;
  }
}

/** Removes emulation prevention bytes (00 00 03 -> 00 00). */
function rbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
}

/** Parses an SPS NAL (with its header byte) for profile, level and the cropped picture size. */
export function parseSps(nal: Uint8Array): SpsInfo {
  const r = new BitReader(rbsp(nal.subarray(1)));
  const profileIdc = r.u(8);
  const constraints = r.u(8);
  const levelIdc = r.u(8);
  r.ue();
  let chromaFormat = 1;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profileIdc)) {
    chromaFormat = r.ue();
    if (chromaFormat === 3) r.u(1);
    r.ue();
    r.ue();
    r.u(1);
    if (r.u(1) === 1) {
      for (let i = 0; i < (chromaFormat !== 3 ? 8 : 12); i++) {
        if (r.u(1) === 0) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (i < 6 ? 16 : 64) && next !== 0; j++) {
          next = (last + r.se() + 256) % 256;
          if (next !== 0) last = next;
        }
      }
    }
  }
  r.ue();
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue();
  r.u(1);
  const mbW = r.ue() + 1;
  const mapH = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (frameMbsOnly === 0) r.u(1);
  r.u(1);
  let crop = [0, 0, 0, 0];
  if (r.u(1) === 1) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const cropX = chromaFormat === 0 || chromaFormat === 3 ? 1 : 2;
  const cropY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
  return {
    profileIdc, constraints, levelIdc,
    width: mbW * 16 - cropX * (crop[0]! + crop[1]!),
    height: (2 - frameMbsOnly) * mapH * 16 - cropY * (crop[2]! + crop[3]!),
  };
}

/** Access units in compact arrays: an index of millions of tiny units stays small (17 bytes each). */
export class AccessUnitList {
  private _offsets = new Float64Array(1024);
  private _sizes = new Uint32Array(1024);
  private _keys = new Uint8Array(1024);
  private _length = 0;

  /** Units held. */
  get length(): number {
    return this._length;
  }

  /** Unit `i`. */
  at(i: number): AccessUnitIndex {
    return { offset: this._offsets[i]!, size: this._sizes[i]!, key: this._keys[i] === 1 };
  }

  /** Adds a unit. */
  push(u: AccessUnitIndex): void {
    if (this._length === this._offsets.length) {
      const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this._offsets = grow(this._offsets);
      this._sizes = grow(this._sizes);
      this._keys = grow(this._keys);
    }
    this._offsets[this._length] = u.offset;
    this._sizes[this._length] = u.size;
    this._keys[this._length] = u.key ? 1 : 0;
    this._length++;
  }
}

/**
 * Indexes the access units of an H.264 Annex B file (as per-track recordings of WebRTC H.264 are
 * written), reading it in 1 MiB chunks. A new access unit starts at an AUD, at an SPS/PPS/SEI after a
 * slice, or at a slice whose first_mb_in_slice is 0 after a slice. Also returns the first SPS.
 * NAL units are grouped as they are found, never listed: only units holding a slice are kept, so a
 * stream of nothing but delimiters indexes to nothing in flat memory.
 */
export async function readAnnexBIndex(fh: FileHandle, fileSize: number): Promise<{ units: AccessUnitList; sps: Uint8Array | undefined }> {
  const units = new AccessUnitList();
  let sps: Uint8Array | undefined;
  let current: { offset: number; key: boolean; hasSlice: boolean } | undefined;
  const close = (upTo: number): void => {
    if (current !== undefined && current.hasSlice) units.push({ offset: current.offset, size: upTo - current.offset, key: current.key });
  };
  const nal = (offset: number, type: number, firstMb0: boolean): void => {
    const slice = type === 1 || type === 5;
    const startsAu = current === undefined || type === 9 || (current.hasSlice && ([6, 7, 8].includes(type) || (slice && firstMb0)));
    if (startsAu) {
      close(offset);
      if (current === undefined || current.hasSlice) current = { offset, key: false, hasSlice: false };
    }
    if (slice) current!.hasSlice = true;
    if (type === 5) current!.key = true;
  };
  const CHUNK = 1 << 20;
  const buf = new Uint8Array(CHUNK + 4);
  let carry = 0;
  for (let pos = 0; pos < fileSize; pos += CHUNK) {
    const { bytesRead } = await fh.read(buf, carry, Math.min(CHUNK, fileSize - pos), pos);
    const end = carry + bytesRead;
    const base = pos - carry;
    for (let i = 0; i + 3 < end; i++) {
      if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
        const header = buf[i + 3]!;
        const type = header & 0x1f;
        const firstMb0 = i + 4 < end ? (buf[i + 4]! & 0x80) !== 0 : true;
        const start = i > 0 && buf[i - 1] === 0 ? base + i - 1 : base + i;
        nal(start, type, firstMb0);
        if (type === 7 && sps === undefined) {
          const spsBytes = new Uint8Array(256);
          const { bytesRead: n } = await fh.read(spsBytes, 0, Math.min(256, fileSize - (base + i + 3)), base + i + 3);
          sps = spsBytes.subarray(0, n);
        }
        i += 2;
      }
    }
    // Keep the last 3 bytes: a start code may straddle chunks.
    carry = Math.min(3, end);
    buf.copyWithin(0, end - carry, end);
  }
  close(fileSize);
  return { units, sps };
}
