import { VideoFrame, type PlaneLayout } from '../media/video-frame.js';
import type { Microseconds } from '../time.js';

/** Luma of the flash frame (full white in limited range). */
export const FLASH_LUMA = 235;

/**
 * The test source's picture, the pure core: a textured pattern that scrolls down two rows a frame,
 * and a full white frame at every whole second. Every frame is a view into one prepared buffer
 * (the pattern is laid out twice, so any scroll offset is one contiguous window): producing a frame
 * costs no pixel work at all, which keeps the source off the encoder's critical path.
 */
export class TestPattern {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  private readonly _buffer: Uint8Array;
  private readonly _flash: Uint8Array;
  private readonly _chromaBase: [number, number];

  constructor(width: number, height: number, fps: number) {
    if (width % 2 !== 0 || height % 2 !== 0) throw new TypeError(`test pattern size must be even, got ${width}x${height}`);
    this.width = width;
    this.height = height;
    this.fps = fps;
    const cw = width >> 1;
    const ch = height >> 1;
    const ySize = width * height * 2;
    const cSize = cw * ch * 2;
    this._buffer = new Uint8Array(ySize + 2 * cSize);
    this._chromaBase = [ySize, ySize + cSize];
    this._paint(cw, ch);
    this._flash = new Uint8Array(width * height + 2 * cw * ch);
    this._flash.fill(FLASH_LUMA, 0, width * height);
    this._flash.fill(128, width * height);
  }

  /** True for the frames that flash: the first frame of each whole second. */
  isFlash(index: number): boolean {
    return index % this.fps === 0;
  }

  /** Frame `index`, a view valid as long as this pattern lives. */
  frame(index: number, timestamp: Microseconds, duration: Microseconds): VideoFrame {
    const init = { format: 'I420' as const, codedWidth: this.width, codedHeight: this.height, timestamp, duration };
    if (this.isFlash(index)) return new VideoFrame(this._flash, init);
    const scroll = (index * 2) % this.height;
    const cw = this.width >> 1;
    const layout: PlaneLayout[] = [
      { offset: scroll * this.width, stride: this.width },
      { offset: this._chromaBase[0] + (scroll >> 1) * cw, stride: cw },
      { offset: this._chromaBase[1] + (scroll >> 1) * cw, stride: cw },
    ];
    return new VideoFrame(this._buffer, { ...init, layout });
  }

  /** Mean luma of non-flash frames (for tests: the flash must stand well above it). */
  meanLuma(): number {
    let sum = 0;
    const n = this.width * this.height;
    for (let i = 0; i < n; i++) sum += this._buffer[i]!;
    return sum / n;
  }

  /** Bars on the left, 16x16 pseudo-random blocks on the right, a soft gradient over both. */
  private _paint(cw: number, ch: number): void {
    const { width, height } = this;
    const buf = this._buffer;
    const bars = [180, 168, 145, 133, 63, 51, 28, 16];
    const barU = [128, 44, 156, 72, 184, 100, 212, 128];
    const barV = [128, 142, 44, 58, 198, 212, 114, 128];
    let seed = 0x2545f491;
    const rand = (): number => {
      seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    const blocksX = Math.ceil(width / 2 / 16);
    const blocksY = Math.ceil(height / 16);
    const blocks = Array.from({ length: blocksX * blocksY }, () => 40 + Math.floor(rand() * 150));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v: number;
        if (x < width / 2) v = bars[Math.floor((x * 8) / (width / 2))]!;
        else v = blocks[Math.floor(y / 16) * blocksX + Math.floor((x - width / 2) / 16)]!;
        v = Math.min(200, Math.round(v * 0.8 + (y / height) * 30));
        buf[y * width + x] = v;
        buf[(y + height) * width + x] = v;
      }
    }
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const left = x < cw / 2;
        const bar = Math.floor((x * 8) / (cw / 2));
        const u = left ? barU[bar]! : 128 + ((x + y) % 32) - 16;
        const v = left ? barV[bar]! : 128 - ((x * 3 + y) % 32) + 16;
        for (const [plane, value] of [[0, u], [1, v]] as const) {
          const base = this._chromaBase[plane];
          buf[base + y * cw + x] = value;
          buf[base + (y + ch) * cw + x] = value;
        }
      }
    }
  }
}
