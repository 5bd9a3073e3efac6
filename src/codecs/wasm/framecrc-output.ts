import { FEED_BASE_US } from './matroska-feed.js';

/** One packet or frame as ffmpeg's framecrc muxer describes it, times in microseconds of media time. */
export interface FramecrcStamp {
  timestamp: number;
  decodeTimestamp: number;
  duration: number;
  /** The packet's size (for raw frames, what the encoder wrapped: not the frame's bytes). */
  bytes: number;
  key: boolean;
}

/** Where a stamp's bytes lie in the data output: `skip` bytes of framing, then `bytes` of payload. */
export interface StampedSpan {
  skip: number;
  bytes: number;
}

/**
 * Pairs one ffmpeg.wasm output's bytes with the framecrc lines of a second output that sees the same
 * packets or frames in the same order (`-f tee`, or two outputs of one stream): the lines give each
 * one's time, decode time, size and key flag; the bytes come as whatever writes ffmpeg made. A pure
 * core: the caller feeds both outputs as they arrive and gets each payload with its stamp. Times are
 * read in the stream's `#tb` and made media time again by taking {@link FEED_BASE_US} off (`-copyts`).
 */
export class FramecrcOutput {
  private readonly _span: (stamp: FramecrcStamp) => StampedSpan;
  private readonly _emit: (payload: Uint8Array, stamp: FramecrcStamp) => void;
  /** Bytes the data output writes once before its first packet (a file header), still to skip. */
  private _header: number;
  private _pieces: Uint8Array[] = [];
  private _piecesBytes = 0;
  private _text = '';
  private _usPerTick = 1;
  private readonly _stamps: FramecrcStamp[] = [];

  constructor(span: (stamp: FramecrcStamp) => StampedSpan, emit: (payload: Uint8Array, stamp: FramecrcStamp) => void, headerBytes = 0) {
    this._span = span;
    this._emit = emit;
    this._header = headerBytes;
  }

  /** Stamps and bytes that found no partner (both 0 once ffmpeg has ended cleanly). */
  get unmatched(): { stamps: number; bytes: number } {
    return { stamps: this._stamps.length, bytes: this._piecesBytes - this._header };
  }

  /** Bytes of the data output. */
  data(bytes: Uint8Array): void {
    this._pieces.push(bytes);
    this._piecesBytes += bytes.length;
    this._drain();
  }

  /** Bytes of the framecrc output: `#tb 0: num/den`, then `stream, dts, pts, duration, size, crc[, F=0x..][, side data]`. */
  lines(bytes: Uint8Array): void {
    const lines = (this._text + new TextDecoder().decode(bytes)).split('\n');
    this._text = lines.pop()!;
    for (const line of lines) {
      const tb = /^#tb \d+: (\d+)\/(\d+)/.exec(line);
      if (tb !== null) this._usPerTick = (Number(tb[1]) * 1e6) / Number(tb[2]);
      if (line.startsWith('#') || line.trim() === '') continue;
      const f = line.split(',').map((x) => x.trim());
      const us = (ticks: string | undefined): number => Math.round(Number(ticks) * this._usPerTick);
      this._stamps.push({
        decodeTimestamp: us(f[1]) - FEED_BASE_US, timestamp: us(f[2]) - FEED_BASE_US, duration: us(f[3]), bytes: Number(f[4]),
        // framecrc writes the flags only when they are not exactly "key".
        key: !f.slice(6).some((x) => x.startsWith('F=')),
      });
    }
    this._drain();
  }

  /** Emits every stamp whose bytes have all arrived. */
  private _drain(): void {
    if (this._header > 0) {
      if (this._piecesBytes < this._header) return;
      this._take(this._header);
      this._header = 0;
    }
    while (this._stamps.length > 0) {
      const stamp = this._stamps[0]!;
      const { skip, bytes } = this._span(stamp);
      if (this._piecesBytes < skip + bytes) return;
      this._stamps.shift();
      if (skip > 0) this._take(skip);
      this._emit(this._take(bytes), stamp);
    }
  }

  /** The next `size` bytes, without a copy when one write held exactly them. */
  private _take(size: number): Uint8Array {
    this._piecesBytes -= size;
    const first = this._pieces[0];
    if (first !== undefined && first.length === size) {
      this._pieces.shift();
      return first;
    }
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const piece = this._pieces[0]!;
      const n = Math.min(piece.length, size - at);
      out.set(piece.subarray(0, n), at);
      at += n;
      if (n === piece.length) this._pieces.shift();
      else this._pieces[0] = piece.subarray(n);
    }
    return out;
  }
}
