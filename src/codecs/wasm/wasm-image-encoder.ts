import type { ImageFormat } from '../../config/outputs.js';
import { AvpipeError, toAvpipeError } from '../../errors.js';
import type { ImageEncoderLike } from '../codec-provider.js';
import { i420Size, tightPlanes, type VideoFrame } from '../../media/video-frame.js';
import { FfmpegWasmRun } from './ffmpeg-wasm.js';

/** How each image file starts: JPEG's SOI marker, PNG's signature. */
const MAGIC: Record<ImageFormat, readonly number[]> = { jpeg: [0xff, 0xd8, 0xff], png: [0x89, 0x50, 0x4e, 0x47] };

/**
 * Thumbnails on WebAssembly only: FFmpeg's mjpeg or png encoder in ffmpeg.wasm (a worker thread),
 * with its swscale doing the scaling and conversion (bicubic; full-range YUV for JPEG, RGB for PNG),
 * as the native encoder does. One run serves every image of an output: frames go in through the
 * ring, and each image comes back whole in one write (`-avioflags direct`), in order.
 */
export class WasmImageEncoder implements ImageEncoderLike {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  private _run: FfmpegWasmRun | undefined;
  private _inputSize = '';
  private readonly _waiting: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  private _failed: Error | undefined;
  private _closed = false;

  constructor(format: ImageFormat, width: number, height: number) {
    this.format = format;
    this.width = width;
    this.height = height;
  }

  encode(frame: VideoFrame): Promise<Uint8Array> {
    if (this._closed) return Promise.reject(new AvpipeError('INVALID_STATE', 'the image encoder is closed'));
    if (this._failed !== undefined) return Promise.reject(this._failed);
    const size = `${frame.codedWidth}x${frame.codedHeight}`;
    if (this._run === undefined) this._start(size);
    else if (size !== this._inputSize) return Promise.reject(new AvpipeError('ENCODER_FAILED', `frame is ${size}, the image encoder took ${this._inputSize}`));
    return new Promise<Uint8Array>((resolve, reject) => {
      this._waiting.push({ resolve, reject });
      this._run!.write(tightPlanes(frame));
    });
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._run?.kill();
    this._fail(new AvpipeError('INVALID_STATE', 'the image encoder was closed'));
  }

  private _start(size: string): void {
    this._inputSize = size;
    const [w, h] = size.split('x').map(Number) as [number, number];
    const codec = this.format === 'jpeg'
      // A fixed quality (the ffmpeg CLI's -q:v 3), not a bitrate: thumbnails are independent images.
      ? ['-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', '3']
      : ['-pix_fmt', 'rgb24', '-c:v', 'png'];
    const args = [
      '-hide_banner', '-nostats', '-probesize', '32', '-analyzeduration', '0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', size, '-r', '1', '-i', '/in',
      '-fps_mode', 'passthrough', '-vf', `scale=${this.width}:${this.height}:flags=bicubic`, ...codec,
      '-f', 'image2pipe', '-flush_packets', '1', '-avioflags', 'direct', '/out',
    ];
    this._run = new FfmpegWasmRun({ args, ringBytes: 2 * i420Size(w, h), onOutput: (bytes) => this._onImage(bytes), onError: (err) => this._fail(err) });
  }

  private _onImage(bytes: Uint8Array): void {
    const waiter = this._waiting.shift();
    if (waiter === undefined) return this._fail(new AvpipeError('ENCODER_FAILED', `the ${this.format} encoder wrote more images than it was given frames`));
    if (!MAGIC[this.format].every((b, i) => bytes[i] === b)) return this._fail(new AvpipeError('ENCODER_FAILED', `the ${this.format} encoder wrote something that is not one whole image`));
    waiter.resolve(bytes);
  }

  private _fail(err: unknown): void {
    this._failed ??= toAvpipeError('ENCODER_FAILED', `wasm ${this.format} encoder`, err);
    for (const w of this._waiting.splice(0)) w.reject(this._failed);
  }
}
