import { i420Layout, i420Size, VideoFrame } from '../media/video-frame.js';

/** What the graph's scaling stage needs: frames of any size in, frames at one size out. */
export interface FrameScaler {
  /** The output width, pixels. */
  readonly width: number;
  /** The output height, pixels. */
  readonly height: number;
  /** The frame at the target size (the same frame when it already is). Closes the input when it makes a new one. */
  scale(frame: VideoFrame): VideoFrame;
  /** Idempotent. */
  close(): void;
}

/** 14-bit fixed-point filter weights. */
const ONE = 1 << 14;

/**
 * One axis of a separable scaling filter: for each output position, the input positions it reads
 * (clamped at the edges) and their fixed-point weights, `taps` of each. A triangle filter, widened
 * by the ratio when shrinking (as swscale's bilinear is), so a downscale averages instead of aliasing.
 */
export interface AxisFilter {
  taps: number;
  index: Int32Array;
  weight: Int32Array;
}

/** The filter taking `from` samples to `to` samples, sample centres aligned. @internal */
export function axisFilter(from: number, to: number): AxisFilter {
  const ratio = from / to;
  const radius = Math.max(1, ratio);
  const taps = Math.ceil(radius) * 2;
  const index = new Int32Array(to * taps);
  const weight = new Int32Array(to * taps);
  for (let o = 0; o < to; o++) {
    const centre = (o + 0.5) * ratio - 0.5;
    const first = Math.floor(centre - radius) + 1;
    let sum = 0;
    const w = new Float64Array(taps);
    for (let t = 0; t < taps; t++) {
      w[t] = Math.max(0, 1 - Math.abs(first + t - centre) / radius);
      sum += w[t]!;
    }
    // Rounded so the weights add to exactly ONE: a flat input stays flat.
    let given = 0;
    let biggest = 0;
    for (let t = 0; t < taps; t++) {
      const k = o * taps + t;
      index[k] = Math.min(from - 1, Math.max(0, first + t));
      weight[k] = Math.round((w[t]! / sum) * ONE);
      given += weight[k]!;
      if (weight[k]! > weight[o * taps + biggest]!) biggest = t;
    }
    weight[o * taps + biggest]! += ONE - given;
  }
  return { taps, index, weight };
}

/**
 * Scales one 8-bit plane with two separable passes (rows, then columns) through a 16-bit
 * intermediate. Pure: the filters are built once per size and reused for every frame.
 * @internal
 */
export function scalePlane(
  src: Uint8Array, srcStride: number, srcHeight: number, dst: Uint8Array, dstOffset: number, dstWidth: number, dstHeight: number,
  across: AxisFilter, down: AxisFilter, tmp: Uint16Array,
): void {
  const { taps: tx, index: ix, weight: wx } = across;
  for (let y = 0; y < srcHeight; y++) {
    const row = y * srcStride;
    const out = y * dstWidth;
    for (let x = 0, k = 0; x < dstWidth; x++) {
      let acc = 0;
      for (let t = 0; t < tx; t++, k++) acc += src[row + ix[k]!]! * wx[k]!;
      // Kept at 8 fractional bits between the passes.
      tmp[out + x] = (acc + (1 << 5)) >> 6;
    }
  }
  const { taps: ty, index: iy, weight: wy } = down;
  for (let y = 0; y < dstHeight; y++) {
    const out = dstOffset + y * dstWidth;
    const k0 = y * ty;
    for (let x = 0; x < dstWidth; x++) {
      let acc = 0;
      for (let t = 0; t < ty; t++) acc += tmp[iy[k0 + t]! * dstWidth + x]! * wy[k0 + t]!;
      const v = (acc + (1 << 21)) >> 22;
      dst[out + x] = v > 255 ? 255 : v;
    }
  }
}

/**
 * The scaler in TypeScript alone, for providers without a native one (wasm): I420 in, I420 at the
 * target size out, with {@link scalePlane}'s triangle filter. Filters are rebuilt only when the
 * input size changes.
 * @internal
 */
export class TsFrameScaler implements FrameScaler {
  readonly width: number;
  readonly height: number;
  private _key = '';
  private _filters: { luma: [AxisFilter, AxisFilter]; chroma: [AxisFilter, AxisFilter] } | undefined;
  private _tmp = new Uint16Array(0);

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
  }

  scale(frame: VideoFrame): VideoFrame {
    const { codedWidth: sw, codedHeight: sh } = frame;
    if (sw === this.width && sh === this.height) return frame;
    const key = `${sw}x${sh}`;
    if (this._filters === undefined || key !== this._key) {
      this._filters = {
        luma: [axisFilter(sw, this.width), axisFilter(sh, this.height)],
        chroma: [axisFilter(sw >> 1, this.width >> 1), axisFilter(sh >> 1, this.height >> 1)],
      };
      this._key = key;
      this._tmp = new Uint16Array(this.width * sh);
    }
    const out = new Uint8Array(i420Size(this.width, this.height));
    const layout = i420Layout(this.width, this.height);
    frame.planes().forEach((p, i) => {
      const [across, down] = i === 0 ? this._filters!.luma : this._filters!.chroma;
      const dw = i === 0 ? this.width : this.width >> 1;
      const dh = i === 0 ? this.height : this.height >> 1;
      scalePlane(p.data, p.stride, p.rows, out, layout[i]!.offset, dw, dh, across, down, this._tmp);
    });
    const scaled = new VideoFrame(out, { format: 'I420', codedWidth: this.width, codedHeight: this.height, timestamp: frame.timestamp, ...(frame.duration === null ? {} : { duration: frame.duration }) });
    frame.close();
    return scaled;
  }

  close(): void {
    this._filters = undefined;
  }
}
