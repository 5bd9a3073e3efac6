import type { Microseconds } from '../time.js';

/** Pixel formats avpipe's frames carry. I420 is what every encoder here takes without conversion. */
export type VideoPixelFormat = 'I420';

/** Where one plane lies in a frame's buffer (WebCodecs PlaneLayout). */
export interface PlaneLayout {
  offset: number;
  stride: number;
}

/** What a VideoFrame is built from (a subset of WebCodecs VideoFrameBufferInit). */
export interface VideoFrameInit {
  format: VideoPixelFormat;
  codedWidth: number;
  codedHeight: number;
  timestamp: Microseconds;
  duration?: Microseconds;
  /** Plane layouts; tightly packed planes when absent. */
  layout?: readonly PlaneLayout[];
}

/** Tight I420 layout for a size: Y, then U, then V, no row padding. */
export function i420Layout(width: number, height: number): PlaneLayout[] {
  const ySize = width * height;
  const cw = width >> 1;
  const cSize = cw * (height >> 1);
  return [
    { offset: 0, stride: width },
    { offset: ySize, stride: cw },
    { offset: ySize + cSize, stride: cw },
  ];
}

/** Bytes of a tight I420 frame. */
export function i420Size(width: number, height: number): number {
  return width * height + 2 * (width >> 1) * (height >> 1);
}

/**
 * A raw video frame, shaped like WebCodecs' VideoFrame. It may view a buffer it does not own
 * (a source's prepared pattern, a pool slot): `close()` releases it and runs the owner's release hook.
 */
export class VideoFrame {
  readonly format: VideoPixelFormat;
  readonly codedWidth: number;
  readonly codedHeight: number;
  readonly timestamp: Microseconds;
  readonly duration: Microseconds | null;
  private _data: Uint8Array | null;
  private readonly _layout: readonly PlaneLayout[];
  private readonly _onClose: (() => void) | undefined;

  constructor(data: Uint8Array, init: VideoFrameInit, onClose?: () => void) {
    if (init.format !== 'I420') throw new TypeError(`init.format must be 'I420', got ${String(init.format)}`);
    if (!(init.codedWidth > 0 && init.codedHeight > 0)) throw new TypeError('init.codedWidth and init.codedHeight must be positive');
    this.format = init.format;
    this.codedWidth = init.codedWidth;
    this.codedHeight = init.codedHeight;
    this.timestamp = init.timestamp;
    this.duration = init.duration ?? null;
    this._layout = init.layout ?? i420Layout(init.codedWidth, init.codedHeight);
    const last = this._layout[2]!;
    if (data.byteLength < last.offset + last.stride * (init.codedHeight >> 1)) throw new TypeError('data is too small for the given layout');
    this._data = data;
    this._onClose = onClose;
  }

  /** The display size equals the coded size here (no cropping). */
  get displayWidth(): number {
    return this.codedWidth;
  }

  get displayHeight(): number {
    return this.codedHeight;
  }

  /** True after close(). */
  get closed(): boolean {
    return this._data === null;
  }

  /** avpipe extension: the planes as views (no copy), for encoders that copy them out themselves. */
  planes(): { data: Uint8Array; stride: number; rows: number; width: number }[] {
    const data = this._data;
    if (data === null) throw new TypeError('VideoFrame is closed');
    return this._layout.map((l, i) => {
      const rows = i === 0 ? this.codedHeight : this.codedHeight >> 1;
      const width = i === 0 ? this.codedWidth : this.codedWidth >> 1;
      return { data: data.subarray(l.offset, l.offset + l.stride * (rows - 1) + width), stride: l.stride, rows, width };
    });
  }

  /** Bytes copyTo() writes with a tight layout. */
  allocationSize(): number {
    return i420Size(this.codedWidth, this.codedHeight);
  }

  /** Copies the frame into `dest` with a tight I420 layout (WebCodecs copyTo). */
  async copyTo(dest: Uint8Array): Promise<PlaneLayout[]> {
    const out = i420Layout(this.codedWidth, this.codedHeight);
    this.planes().forEach((p, i) => {
      const o = out[i]!;
      for (let r = 0; r < p.rows; r++) dest.set(p.data.subarray(r * p.stride, r * p.stride + p.width), o.offset + r * o.stride);
    });
    return out;
  }

  /**
   * avpipe extension: another frame over the same pixels with a new timestamp (a held or repeated
   * frame). It shares the buffer and has no release hook of its own: only for GC-owned buffers.
   */
  retimed(timestamp: Microseconds, duration: Microseconds): VideoFrame {
    if (this._data === null) throw new TypeError('VideoFrame is closed');
    return new VideoFrame(this._data, {
      format: this.format, codedWidth: this.codedWidth, codedHeight: this.codedHeight, timestamp, duration, layout: this._layout,
    });
  }

  /** Releases the frame; idempotent. */
  close(): void {
    if (this._data === null) return;
    this._data = null;
    this._onClose?.();
  }
}
