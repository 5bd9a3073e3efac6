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
  /** Width of the frames it is given, pixels. */
  width: number;
  /** Height of the frames it is given, pixels. */
  height: number;
  /** Bits per second. */
  bitrate: number;
  /** Frames per second; without `keyframeInterval`, avpipe's encoders put keyframes two seconds apart. */
  framerate: number;
  /** `realtime`: x264 tuned for zero latency (no lookahead, no B-frames); the VP8/VP9 encoders ignore it. */
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
  /** Samples per second (Hz) of the audio it is given. */
  sampleRate: number;
  /** Channels of the audio it is given. */
  numberOfChannels: number;
  /** Bits per second. */
  bitrate: number;
}

/** WebCodecs VideoEncoderInit. */
export interface VideoEncoderInit {
  /** Each chunk as it comes out, in decode order; the first one's metadata carries the decoder config. */
  output: (chunk: EncodedVideoChunk, metadata: EncodedChunkMetadata<VideoDecoderConfig>) => void;
  /** Called once if the encoder fails, after it has closed (WebCodecs' order). */
  error: (error: Error) => void;
}

/** WebCodecs AudioEncoderInit. */
export interface AudioEncoderInit {
  /** Each chunk as it comes out, in order; the first one's metadata carries the decoder config. */
  output: (chunk: EncodedAudioChunk, metadata: EncodedChunkMetadata<AudioDecoderConfig>) => void;
  /** Called once if the encoder fails, after it has closed (WebCodecs' order). */
  error: (error: Error) => void;
}

/** The part of WebCodecs' VideoEncoder avpipe relies on. */
export interface VideoEncoderLike {
  /** `unconfigured` until configure(); `closed` after close() or a failure. */
  readonly state: CodecState;
  /** Frames accepted but not yet encoded. */
  readonly encodeQueueSize: number;
  /** Called whenever encodeQueueSize decreases. */
  ondequeue: (() => void) | null;
  /** Opens the encoder for `config`; throws when it cannot, or once closed. */
  configure(config: VideoEncoderConfig): void;
  /** Takes ownership of `frame`: the encoder closes it once it has copied it. */
  encode(frame: VideoFrame, options?: { keyFrame?: boolean }): void;
  /** Resolves once every frame given before it has come out; rejects if the encoder fails first. */
  flush(): Promise<void>;
  /** Releases the encoder; idempotent. Frames still queued are dropped, waiting flushes resolve. */
  close(): void;
}

/** The part of WebCodecs' AudioEncoder avpipe relies on. */
export interface AudioEncoderLike {
  /** `unconfigured` until configure(); `closed` after close() or a failure. */
  readonly state: CodecState;
  /** Audio buffers accepted but not yet encoded. */
  readonly encodeQueueSize: number;
  /** Called whenever encodeQueueSize decreases. */
  ondequeue: (() => void) | null;
  /** Opens the encoder for `config`; throws when it cannot, or once closed. */
  configure(config: AudioEncoderConfig): void;
  /** Takes ownership of `data`: the encoder closes it once it has copied it. */
  encode(data: AudioData): void;
  /** Resolves once all audio given before it has come out; rejects if the encoder fails first. */
  flush(): Promise<void>;
  /** Releases the encoder; idempotent. Audio still queued is dropped, waiting flushes resolve. */
  close(): void;
}

/** WebCodecs VideoDecoderInit. Frames come out as I420. */
export interface VideoDecoderInit {
  /** Each frame as it is decoded, in presentation order; the receiver closes it. */
  output: (frame: VideoFrame) => void;
  /** Called once if the decoder fails, after it has closed (WebCodecs' order). */
  error: (error: Error) => void;
  /**
   * avpipe extension: threads the decoder may use (absent: its own choice). A split's chunk workers
   * ask for one each: they already run side by side.
   */
  threads?: number;
}

/** WebCodecs AudioDecoderInit. Audio comes out as f32-planar at the stream's own rate and channels. */
export interface AudioDecoderInit {
  /** Each buffer (or block, see `batchSamples`) as it is decoded, in order; the receiver closes it. */
  output: (data: AudioData) => void;
  /** Called once if the decoder fails, after it has closed (WebCodecs' order). */
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
  /** `unconfigured` until configure(); `closed` after close() or a failure. */
  readonly state: CodecState;
  /** Chunks accepted but not yet decoded. */
  readonly decodeQueueSize: number;
  /** Called whenever decodeQueueSize decreases. */
  ondequeue: (() => void) | null;
  /** Opens the decoder for `config`; throws when it cannot, or once closed. */
  configure(config: C): void;
  /** Queues one chunk for decoding; throws unless configured. */
  decode(chunk: EncodedChunk): void;
  /** Resolves once every chunk given before it has come out; rejects if the decoder fails first. */
  flush(): Promise<void>;
  /** Releases the decoder; idempotent. Chunks still queued are dropped, waiting flushes resolve. */
  close(): void;
}

/** A WebCodecs-shaped VideoDecoder. */
export type VideoDecoderLike = DecoderLike<VideoDecoderConfig>;
/** A WebCodecs-shaped AudioDecoder. */
export type AudioDecoderLike = DecoderLike<AudioDecoderConfig>;

/** Still images (thumbnails) from frames: a whole JPEG or PNG file per frame, scaled to the encoder's size. */
export interface ImageEncoderLike {
  /** `jpeg` or `png`. */
  readonly format: ImageFormat;
  /** Width of the images, pixels; frames of another size are scaled to it. */
  readonly width: number;
  /** Height of the images, pixels. */
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
  /** An unconfigured video encoder; `configure()` picks the codec. */
  createVideoEncoder(init: VideoEncoderInit): VideoEncoderLike;
  /** An unconfigured audio encoder; `configure()` picks the codec. */
  createAudioEncoder(init: AudioEncoderInit): AudioEncoderLike;
  /**
   * An audio encoder for non-live runs that encodes off the main thread, in batches (its latency is
   * a fraction of a second). Absent: non-live runs use `createAudioEncoder` too.
   */
  createBatchAudioEncoder?(init: AudioEncoderInit): AudioEncoderLike;
  /** Decoders, for sources that give encoded media (files); absent on encode-only providers. */
  createVideoDecoder?(init: VideoDecoderInit): VideoDecoderLike;
  /** An audio decoder; absent on encode-only providers, as `createVideoDecoder`. */
  createAudioDecoder?(init: AudioDecoderInit): AudioDecoderLike;
  /**
   * Converters on the same platform as the codecs: a scaler to one I420 size, a resampler to one
   * rate and channel count. Absent: the graph takes avpipe's own, in TypeScript.
   */
  createVideoScaler?(width: number, height: number): FrameScaler;
  /** A resampler to `sampleRate` Hz and `channels` channels; absent: avpipe's TypeScript one. */
  createAudioResampler?(sampleRate: number, channels: number): AudioResampler;
  /** Thumbnails' encoder. Absent: the graph takes the WebAssembly one (ffmpeg.wasm's mjpeg and png). */
  createImageEncoder?(format: ImageFormat, width: number, height: number): ImageEncoderLike;
}
