import type { SpeedPreset } from '../config/codecs.js';
import type { ImageFormat } from '../config/outputs.js';
import type { AudioResampler } from '../convert/audio-resampler.js';
import type { FrameScaler } from '../convert/frame-scaler.js';
import type { AudioData } from '../media/audio-data.js';
import type {
  AudioDecoderConfig, EncodedAudioChunk, EncodedChunk, EncodedChunkMetadata, EncodedVideoChunk, VideoDecoderConfig,
} from '../media/encoded-chunk.js';
import type { VideoFrame } from '../media/video-frame.js';

/** WebCodecs codec state. */
export type CodecState = 'unconfigured' | 'configured' | 'closed';

/**
 * WebCodecs VideoEncoderConfig, plus the two knobs WebCodecs lacks and egress needs: the encoder
 * speed preset and (for providers that run their own GOP) the keyframe interval.
 */
export interface VideoEncoderConfig {
  /** A WebCodecs codec string: `avc1.PPCCLL`, `vp8`, `vp09.PP.LL.DD`. */
  codec: string;
  width: number;
  height: number;
  /** Bits per second. */
  bitrate: number;
  framerate: number;
  latencyMode?: 'quality' | 'realtime';
  /** avpipe extension: x264-named speed preset; providers map it to their codec's own speed knob. */
  speedPreset?: SpeedPreset;
  /** avpipe extension: the longest keyframe distance in frames (keyframes are also forced by `encode(..., {keyFrame})`). */
  keyframeInterval?: number;
  /** avpipe extension: the encoder's own threads (default: as many as it likes); a split encode gives each chunk its share. */
  threads?: number;
  /**
   * avpipe extension: the interval of the keyframe grid `encode(..., {keyFrame})` marks, microseconds
   * (exact, where `keyframeInterval` is whole frames). An encoder that cannot be told per frame
   * (ffmpeg.wasm's, a running process) forces its keyframes on the grid.
   */
  keyframeIntervalUs?: number;
  /** avpipe extension: where that grid starts, microseconds (default: the first frame; a split chunk's frames start before its grid point). */
  keyframeOriginUs?: number;
}

/** WebCodecs AudioEncoderConfig. */
export interface AudioEncoderConfig {
  /** `opus` or `mp4a.40.2`. */
  codec: string;
  sampleRate: number;
  numberOfChannels: number;
  /** Bits per second. */
  bitrate: number;
}

/** WebCodecs VideoEncoderInit. */
export interface VideoEncoderInit {
  output: (chunk: EncodedVideoChunk, metadata: EncodedChunkMetadata<VideoDecoderConfig>) => void;
  error: (error: Error) => void;
}

/** WebCodecs AudioEncoderInit. */
export interface AudioEncoderInit {
  output: (chunk: EncodedAudioChunk, metadata: EncodedChunkMetadata<AudioDecoderConfig>) => void;
  error: (error: Error) => void;
}

/** The part of WebCodecs' VideoEncoder avpipe relies on. */
export interface VideoEncoderLike {
  readonly state: CodecState;
  /** Frames accepted but not yet encoded. */
  readonly encodeQueueSize: number;
  /** Called whenever encodeQueueSize decreases. */
  ondequeue: (() => void) | null;
  configure(config: VideoEncoderConfig): void;
  /** Takes ownership of `frame`: the encoder closes it once it has copied it. */
  encode(frame: VideoFrame, options?: { keyFrame?: boolean }): void;
  flush(): Promise<void>;
  close(): void;
}

/** The part of WebCodecs' AudioEncoder avpipe relies on. */
export interface AudioEncoderLike {
  readonly state: CodecState;
  readonly encodeQueueSize: number;
  ondequeue: (() => void) | null;
  configure(config: AudioEncoderConfig): void;
  /** Takes ownership of `data`: the encoder closes it once it has copied it. */
  encode(data: AudioData): void;
  flush(): Promise<void>;
  close(): void;
}

/** WebCodecs VideoDecoderInit. Frames come out as I420. */
export interface VideoDecoderInit {
  output: (frame: VideoFrame) => void;
  error: (error: Error) => void;
  /**
   * avpipe extension: threads the decoder may use (absent: its own choice). A split's chunk workers
   * ask for one each: they already run side by side.
   */
  threads?: number;
}

/** WebCodecs AudioDecoderInit. Audio comes out as f32-planar at the stream's own rate and channels. */
export interface AudioDecoderInit {
  output: (data: AudioData) => void;
  error: (error: Error) => void;
  /**
   * avpipe extension: audio may come out in blocks of up to this many samples, contiguous frames
   * joined, for a run that wants throughput (fewer items through every stage after the decoder). A
   * block never spans a gap or a change of rate or channels; a decoder may ignore this.
   */
  batchSamples?: number;
}

/** The part of WebCodecs' VideoDecoder / AudioDecoder avpipe relies on. */
export interface DecoderLike<C> {
  readonly state: CodecState;
  /** Chunks accepted but not yet decoded. */
  readonly decodeQueueSize: number;
  ondequeue: (() => void) | null;
  configure(config: C): void;
  decode(chunk: EncodedChunk): void;
  flush(): Promise<void>;
  close(): void;
}

/** A WebCodecs-shaped VideoDecoder. */
export type VideoDecoderLike = DecoderLike<VideoDecoderConfig>;
/** A WebCodecs-shaped AudioDecoder. */
export type AudioDecoderLike = DecoderLike<AudioDecoderConfig>;

/** Still images (thumbnails) from frames: a whole JPEG or PNG file per frame, scaled to the encoder's size. */
export interface ImageEncoderLike {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  /** One image file's bytes. Does not close the frame. */
  encode(frame: VideoFrame): Promise<Uint8Array>;
  /** Idempotent. */
  close(): void;
}

/**
 * The codec seam: a factory of WebCodecs-shaped encoders and decoders. A platform's own WebCodecs, a native addon
 * or a wasm build can stand behind it.
 */
export interface CodecProvider {
  /** Short name reported in results, e.g. `node-av`. */
  readonly name: string;
  createVideoEncoder(init: VideoEncoderInit): VideoEncoderLike;
  createAudioEncoder(init: AudioEncoderInit): AudioEncoderLike;
  /**
   * An audio encoder for non-live runs that encodes off the main thread, in batches (its latency is
   * a fraction of a second). Absent: non-live runs use `createAudioEncoder` too.
   */
  createBatchAudioEncoder?(init: AudioEncoderInit): AudioEncoderLike;
  /** Decoders, for sources that give encoded media (files); absent on encode-only providers. */
  createVideoDecoder?(init: VideoDecoderInit): VideoDecoderLike;
  createAudioDecoder?(init: AudioDecoderInit): AudioDecoderLike;
  /**
   * Converters on the same platform as the codecs: a scaler to one I420 size, a resampler to one
   * rate and channel count. Absent: the graph takes avpipe's own, in TypeScript.
   */
  createVideoScaler?(width: number, height: number): FrameScaler;
  createAudioResampler?(sampleRate: number, channels: number): AudioResampler;
  /** Thumbnails' encoder. Absent: the graph takes the WebAssembly one (ffmpeg.wasm's mjpeg and png). */
  createImageEncoder?(format: ImageFormat, width: number, height: number): ImageEncoderLike;
}
