import type { VideoDecoderInit } from '../codec-provider.js';
import type { VideoDecoderConfig } from '../../media/encoded-chunk.js';
import { i420Size, VideoFrame } from '../../media/video-frame.js';
import type { FramecrcStamp } from './framecrc-output.js';
import { WasmDecoder } from './wasm-decoder.js';

/**
 * A WebCodecs-shaped VideoDecoder on WebAssembly only: FFmpeg's h264, hevc, vp8 and vp9 decoders in
 * ffmpeg.wasm. Frames come out as I420 at the configured coded size (odd sizes made even), or at the
 * config's `scaleTo` size, whatever the stream's pixel format: conversion and scaling happen in
 * ffmpeg.wasm's swscale (bilinear, as the native scaler), in the decoder's thread, which is about
 * four times cheaper than avpipe's TypeScript scaler and moves a quarter of the bytes for a halving.
 * A mid-stream size change is scaled to the same size.
 */
export class WasmVideoDecoder extends WasmDecoder<VideoDecoderConfig> {
  private readonly _output: (frame: VideoFrame) => void;

  constructor(init: VideoDecoderInit) {
    super('VideoDecoder', init.error);
    this._output = init.output;
  }

  private _size(config: VideoDecoderConfig): { width: number; height: number } {
    const { width, height } = config.scaleTo ?? { width: config.codedWidth, height: config.codedHeight };
    return { width: width & ~1, height: height & ~1 };
  }

  protected outputArgs(config: VideoDecoderConfig): string[] {
    const { width, height } = this._size(config);
    return ['-fps_mode', 'passthrough', '-s', `${width}x${height}`, '-sws_flags', 'bilinear', '-pix_fmt', 'yuv420p', '-c:v', 'rawvideo', '-f', 'rawvideo'];
  }

  protected metaArgs(): string[] {
    // wrapped_avframe hands the frame on without copying its pixels: the line costs nothing.
    return ['-fps_mode', 'passthrough', '-c:v', 'wrapped_avframe'];
  }

  protected ringBytes(config: VideoDecoderConfig): number {
    // Room for a few large keyframes.
    return Math.max(1 << 20, i420Size(config.codedWidth & ~1, config.codedHeight & ~1));
  }

  protected frameBytes(): number {
    const { width, height } = this._size(this.config!);
    return i420Size(width, height);
  }

  protected emit(bytes: Uint8Array, stamp: FramecrcStamp): void {
    const { width, height } = this._size(this.config!);
    this._output(new VideoFrame(bytes, { format: 'I420', codedWidth: width, codedHeight: height, timestamp: stamp.timestamp, ...(stamp.duration > 0 ? { duration: stamp.duration } : {}) }));
  }
}
