import type { Microseconds } from '../time.js';

/** Pixel formats avpipe's frames carry. I420 is what every encoder here takes without conversion. */
export type VideoPixelFormat = 'I420';

/** Where one plane lies in a frame's buffer (WebCodecs PlaneLayout). */
export interface PlaneLayout {
  /** Bytes from the buffer's start to the plane's first row. */
  offset: number;
  /** Bytes from one row's start to the next (at least the plane's width). */
  stride: number;
}

/** One plane given as its own view (avpipe extension), as a decoder lays a frame out. */
export interface PlaneView {
  /** The plane's bytes, from its first row. */
  data: Uint8Array;
  /** Bytes from one row's start to the next (at least the plane's width). */
  stride: number;
}

/** What a VideoFrame is built from (a subset of WebCodecs VideoFrameBufferInit). */
export interface VideoFrameInit {
  /** Always `'I420'`; anything else throws. */
  format: VideoPixelFormat;
  /** Width, pixels (positive). */
  codedWidth: number;
  /** Height, pixels (positive). */
  codedHeight: number;
  /** Presentation time, microseconds. */
  timestamp: Microseconds;
  /** Microseconds; absent when unknown. */
  duration?: Microseconds;
  /** Plane layouts in a single buffer; tightly packed planes when absent. */
  layout?: readonly PlaneLayout[];
}

/** Tight I420 layout for a size: Y, then U, then V, no row padding. @internal */
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

/** Bytes of a tight I420 frame. @internal */
export function i420Size(width: number, height: number): number {
  return width * height + 2 * (width >> 1) * (height >> 1);
}

/** Copies `rows` rows of `width` bytes between two strided planes (one copy when both are tight). @internal */
export function copyPlane(src: Uint8Array, srcStride: number, dst: Uint8Array, dstOffset: number, dstStride: number, width: number, rows: number): void {
  if (srcStride === width && dstStride === width) {
    dst.set(src.subarray(0, width * rows), dstOffset);
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(src.subarray(r * srcStride, r * srcStride + width), dstOffset + r * dstStride);
}

/** A frame's planes without row padding: views where a plane is already tight, copies where it is not. @internal */
export function tightPlanes(frame: VideoFrame): Uint8Array[] {
  return frame.planes().map((p) => {
    if (p.stride === p.width) return p.data.subarray(0, p.width * p.rows);
    const out = new Uint8Array(p.width * p.rows);
    copyPlane(p.data, p.stride, out, 0, p.width, p.width, p.rows);
    return out;
  });
}

/**
 * A raw video frame, shaped like WebCodecs' VideoFrame. It may view memory it does not own (a
 * source's prepared pattern, a decoder's frame): `close()` releases it and runs the owner's hook.
 */
export class VideoFrame {
  /** Always `'I420'`. */
  readonly format: VideoPixelFormat;
  /** Width, pixels. */
  readonly codedWidth: number;
  /** Height, pixels. */
  readonly codedHeight: number;
  /** Presentation time, microseconds. */
  readonly timestamp: Microseconds;
  /** Microseconds; null when unknown. */
  readonly duration: Microseconds | null;
  /** The planes, or how to get them when first asked (a decoder's frame: most go to an encoder unread). */
  private _planes: readonly PlaneView[] | (() => readonly PlaneView[]) | null;
  /** Shared by a frame and its retimed copies: the owner's release runs when the last one closes. */
  private _shared: { refs: number; release: (() => void) | undefined };
  /**
   * @internal The native object owning the planes' memory (a decoder's frame): kept alive as long as
   * this frame is, and handed to an encoder of the same provider without a copy.
   */
  _native: unknown;

  /**
   * `data` is one buffer laid out by `init.layout` (WebCodecs), or (avpipe extension) the three
   * planes as their own views, or a function giving them when first read; `native` then names the
   * object that owns their memory. `onClose` releases the memory once this frame and every retimed
   * copy of it are closed.
   */
  constructor(data: Uint8Array | readonly PlaneView[] | (() => readonly PlaneView[]), init: VideoFrameInit, onClose?: () => void, native?: unknown) {
    if (init.format !== 'I420') throw new TypeError(`init.format must be 'I420', got ${String(init.format)}`);
    const { codedWidth: w, codedHeight: h } = init;
    if (!(w > 0 && h > 0)) throw new TypeError('init.codedWidth and init.codedHeight must be positive');
    this.format = init.format;
    this.codedWidth = w;
    this.codedHeight = h;
    this.timestamp = init.timestamp;
    this.duration = init.duration ?? null;
    let planes: readonly PlaneView[] | (() => readonly PlaneView[]);
    if (typeof data === 'function') {
      // Read once, by whichever frame sharing these pixels asks first (retimed copies get this function).
      let views: readonly PlaneView[] | undefined;
      planes = () => (views ??= data());
    } else if (data instanceof Uint8Array) {
      const layout = init.layout ?? i420Layout(w, h);
      planes = layout.map((l, i) => {
        const rows = i === 0 ? h : h >> 1;
        const width = i === 0 ? w : w >> 1;
        const end = l.offset + l.stride * (rows - 1) + width;
        if (data.byteLength < end) throw new TypeError('data is too small for the given layout');
        return { data: data.subarray(l.offset, end), stride: l.stride };
      });
    } else {
      if (data.length !== 3) throw new TypeError('data must be one buffer, or the Y, U and V planes');
      planes = [...data];
    }
    this._planes = planes;
    this._shared = { refs: 1, release: onClose };
    this._native = native;
  }

  /** The display size equals the coded size here (no cropping). */
  get displayWidth(): number {
    return this.codedWidth;
  }

  /** Equals codedHeight (no cropping). */
  get displayHeight(): number {
    return this.codedHeight;
  }

  /** True after close(). */
  get closed(): boolean {
    return this._planes === null;
  }

  /** avpipe extension: the planes as views (no copy), for encoders that copy them out themselves. */
  planes(): {
    /** The plane's bytes, from its first row. */
    data: Uint8Array;
    /** Bytes from one row's start to the next. */
    stride: number;
    /** Rows: the frame's height for Y, half of it for U and V. */
    rows: number;
    /** Bytes of picture per row: the frame's width for Y, half of it for U and V. */
    width: number;
  }[] {
    return this._views().map((p, i) => ({
      data: p.data, stride: p.stride,
      rows: i === 0 ? this.codedHeight : this.codedHeight >> 1,
      width: i === 0 ? this.codedWidth : this.codedWidth >> 1,
    }));
  }

  /** The planes, read from their owner the first time (shared with retimed copies from then on). */
  private _views(): readonly PlaneView[] {
    let planes = this._planes;
    if (planes === null) throw new TypeError('VideoFrame is closed');
    if (typeof planes === 'function') {
      const views = planes();
      if (views.length !== 3) throw new TypeError('data must give the Y, U and V planes');
      planes = this._planes = views;
    }
    return planes;
  }

  /** Bytes copyTo() writes with a tight layout. */
  allocationSize(): number {
    return i420Size(this.codedWidth, this.codedHeight);
  }

  /** Copies the frame into `dest` with a tight I420 layout (WebCodecs copyTo). */
  async copyTo(dest: Uint8Array): Promise<PlaneLayout[]> {
    const out = i420Layout(this.codedWidth, this.codedHeight);
    this.planes().forEach((p, i) => copyPlane(p.data, p.stride, dest, out[i]!.offset, out[i]!.stride, p.width, p.rows));
    return out;
  }

  /**
   * avpipe extension: another frame over the same pixels with a new timestamp (a held or repeated
   * frame). It shares the memory, which is released when the last frame sharing it closes.
   */
  retimed(timestamp: Microseconds, duration: Microseconds): VideoFrame {
    const planes = this._planes;
    if (planes === null) throw new TypeError('VideoFrame is closed');
    const copy = new VideoFrame(planes, { format: this.format, codedWidth: this.codedWidth, codedHeight: this.codedHeight, timestamp, duration }, undefined, this._native);
    this._shared.refs++;
    copy._shared = this._shared;
    return copy;
  }

  /** Another handle on the same frame (WebCodecs clone): each consumer of a tee closes its own. */
  clone(): VideoFrame {
    return this.retimed(this.timestamp, this.duration as Microseconds);
  }

  /** Releases the frame; idempotent. The memory goes when the last frame sharing it is closed. */
  close(): void {
    if (this._planes === null) return;
    this._planes = null;
    this._native = undefined;
    if (--this._shared.refs === 0) this._shared.release?.();
  }
}
