import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { ImageEncoderLike } from '../codecs/codec-provider.js';
import type { VideoFrame } from '../media/video-frame.js';
import { fillTemplate, type ImageFormat, type ImagesOutputSpec } from '../config/outputs.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import type { Microseconds } from '../time.js';
import type { FileDone } from './output-node.js';
import type { OutputNode } from './output-node.js';

/** An images (thumbnails) output in a result. */
export interface ImagesOutputResult {
  /** The kind of output: always `images`. */
  type: 'images';
  /** The file name template, e.g. `thumbs/img_%05d.jpg`. */
  template: string;
  /** `jpeg` or `png`. */
  format: ImageFormat;
  /** Image width, pixels. */
  width: number;
  /** Image height, pixels. */
  height: number;
  /** Media time the frames covered, ms. */
  durationMs: number;
  /** Images written; in a non-live run one for every interval of media time, none skipped. */
  count: number;
  /** Bytes of all images. */
  size: number;
  /** Each image's path and the media time of the frame it shows (ms). */
  images: {
    /** The image file's path. */
    path: string;
    /** Media time of the frame it shows, ms. */
    timestampMs: number;
  }[];
  /** Unix ms of the first image written. */
  startedAt: number | null;
  /** Unix ms of the output's completion; null before it. */
  endedAt: number | null;
}

/**
 * Thumbnails: the first frame at or after every `interval` of media time, scaled and encoded to
 * JPEG or PNG, and written by a numbered template (0 for the frame at media time 0).
 * @internal
 */
export class ImageOutput implements OutputNode<VideoFrame, ImagesOutputResult> {
  readonly spec: ImagesOutputSpec;
  readonly writable: WritableStream<VideoFrame>;
  private readonly _encoder: ImageEncoderLike;
  private readonly _intervalUs: Microseconds;
  private readonly _images: { path: string; timestampMs: number; bytes: number }[] = [];
  private _nextUs: Microseconds = 0;
  private _lastUs: Microseconds = 0;
  private _startedAt: number | null = null;
  private _endedAt: number | null = null;
  private _closed = false;

  private readonly _onFile: FileDone | undefined;

  /** `encoder` makes images of `spec.format` at the thumbnail size; the output closes it. */
  constructor(encoder: ImageEncoderLike, spec: ImagesOutputSpec, onFile?: FileDone) {
    this.spec = spec;
    this._onFile = onFile;
    this._intervalUs = Math.round(spec.interval * 1e6);
    this._encoder = encoder;
    this.writable = new WritableStream<VideoFrame>({
      write: async (frame) => {
        try {
          await this._take(frame);
        } finally {
          frame.close();
        }
      },
      close: () => this._close(),
      abort: () => this._close(),
    });
  }

  get name(): string {
    return this.spec.template;
  }

  get bytes(): number {
    return this._images.reduce((n, i) => n + i.bytes, 0);
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.spec.template), { recursive: true });
  }

  async finalize(): Promise<void> {
    this._close();
    if (this._images.length === 0) throw new AvpipeError('MUXER_FAILED', `no video frame reached ${this.spec.template}`);
    this._endedAt = Date.now();
  }

  async discard(): Promise<void> {
    this._close();
    await Promise.all(this._images.map((i) => rm(i.path, { force: true })));
    this._images.length = 0;
  }

  mediaTime(): Microseconds {
    return this._lastUs;
  }

  result(): ImagesOutputResult {
    return {
      type: 'images', template: this.spec.template, format: this.spec.format, width: this._encoder.width, height: this._encoder.height,
      durationMs: this._lastUs / 1000, count: this._images.length, size: this.bytes, images: this._images.map(({ path, timestampMs }) => ({ path, timestampMs })),
      startedAt: this._startedAt, endedAt: this._endedAt,
    };
  }

  private async _take(frame: VideoFrame): Promise<void> {
    const t = frame.timestamp;
    this._lastUs = Math.max(this._lastUs, t + (frame.duration ?? 0));
    // Frame times are rounded to microseconds: a frame half a frame early still counts as on time.
    const slack = Math.round((frame.duration ?? 1000) / 2);
    if (t + slack < this._nextUs) return;
    const data = await this._encoder.encode(frame);
    // Named by the interval it stands for: a frame taken late (a live run that dropped) keeps its slot's number.
    const slot = Math.floor((t + slack) / this._intervalUs);
    const path = fillTemplate(this.spec.template, slot);
    try {
      await writeFile(path, data);
    } catch (err) {
      throw toAvpipeError('SINK_FAILED', `writing ${path} failed`, err);
    }
    this._startedAt ??= Date.now();
    this._images.push({ path, timestampMs: t / 1000, bytes: data.byteLength });
    this._onFile?.(path, basename(path), data.byteLength);
    this._nextUs = (slot + 1) * this._intervalUs;
  }

  private _close(): void {
    if (this._closed) return;
    this._closed = true;
    this._encoder.close();
  }
}

/** The thumbnail size: the one asked, the other side following the video's aspect, or the video's. @internal */
export function imageSize(spec: ImagesOutputSpec, video: { width: number; height: number }): { width: number; height: number } {
  const even = (v: number): number => Math.max(2, Math.round(v / 2) * 2);
  if (spec.width !== undefined && spec.height !== undefined) return { width: spec.width, height: spec.height };
  if (spec.width !== undefined) return { width: spec.width, height: even((spec.width * video.height) / video.width) };
  if (spec.height !== undefined) return { width: even((spec.height * video.width) / video.height), height: spec.height };
  return { width: video.width, height: video.height };
}
