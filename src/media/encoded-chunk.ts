import type { Microseconds } from '../time.js';

/** Key or delta, as WebCodecs names chunk types. */
export type EncodedChunkType = 'key' | 'delta';

/** What an encoded chunk is built from. */
export interface EncodedChunkInit {
  /** `key` for a chunk a decoder can start at, else `delta`. */
  type: EncodedChunkType;
  /** Presentation time, microseconds. */
  timestamp: Microseconds;
  /** Microseconds; absent when unknown. */
  duration?: Microseconds;
  /** avpipe extension: the decode time, when the encoder reorders frames (B-frames); FLV needs it. */
  decodeTimestamp?: Microseconds;
  /** The encoded bytes, kept without a copy. */
  data: Uint8Array;
}

/** An encoded frame, shaped like WebCodecs' EncodedVideoChunk / EncodedAudioChunk. */
export class EncodedChunk {
  /** `key` for a chunk a decoder can start at, else `delta`. */
  readonly type: EncodedChunkType;
  /** Presentation time, microseconds. */
  readonly timestamp: Microseconds;
  /** Microseconds; null when unknown. */
  readonly duration: Microseconds | null;
  /** avpipe extension: the decode time when it differs from `timestamp` (B-frames); null when unknown. */
  readonly decodeTimestamp: Microseconds | null;
  /** avpipe extension: the bytes without a copy. Treat as read-only. */
  readonly data: Uint8Array;

  constructor(init: EncodedChunkInit) {
    this.type = init.type;
    this.timestamp = init.timestamp;
    this.duration = init.duration ?? null;
    this.decodeTimestamp = init.decodeTimestamp ?? null;
    this.data = init.data;
  }

  /** Size of the encoded data, bytes. */
  get byteLength(): number {
    return this.data.byteLength;
  }

  /** Copies the bytes into `dest` (WebCodecs copyTo). */
  copyTo(dest: Uint8Array): void {
    dest.set(this.data);
  }

  /** Nothing to release (the bytes are GC-owned); here so queues can treat chunks like frames. */
  close(): void {}
}

/** A video chunk (WebCodecs EncodedVideoChunk). */
export class EncodedVideoChunk extends EncodedChunk {}
/** An audio chunk (WebCodecs EncodedAudioChunk). */
export class EncodedAudioChunk extends EncodedChunk {}

/** WebCodecs VideoDecoderConfig, as carried in an encoder's output metadata. */
export interface VideoDecoderConfig {
  /** A WebCodecs codec string: `avc1.PPCCLL`, `vp8`, `vp09.PP.LL.DD`. */
  codec: string;
  /** Frame width, pixels. */
  codedWidth: number;
  /** Frame height, pixels. */
  codedHeight: number;
  /** avcC / codec private data; absent for Annex B H.264 (in-band parameter sets). */
  description?: Uint8Array;
  /**
   * avpipe extension, a hint: the size the pipeline will scale the frames to. A decoder that can scale
   * as it decodes (the wasm one, with swscale in its own thread) gives frames at this size; others
   * ignore it, and the graph's scaler, which passes frames already at size through, does the rest.
   */
  scaleTo?: {
    /** Pixels. */
    width: number;
    /** Pixels. */
    height: number;
  };
}

/** WebCodecs AudioDecoderConfig, as carried in an encoder's output metadata. */
export interface AudioDecoderConfig {
  /** A WebCodecs codec string, e.g. `opus` or `mp4a.40.2`. */
  codec: string;
  /** Samples per second (Hz). */
  sampleRate: number;
  /** Channels. */
  numberOfChannels: number;
  /** OpusHead for Opus, AudioSpecificConfig for AAC. */
  description?: Uint8Array;
}

/** Metadata an encoder gives with a chunk; the first chunk carries the decoder config. */
export interface EncodedChunkMetadata<C> {
  /** What a decoder of this stream is configured with: given with the first chunk, absent after. */
  decoderConfig?: C;
}

/** What flows from an encoder to a muxer: a chunk and its metadata. */
export type EncodedVideoOutput = {
  kind: 'video'; chunk: EncodedVideoChunk; metadata: EncodedChunkMetadata<VideoDecoderConfig>;
  /** avpipe extension: the ladder rung it belongs to, on all but the first (the run's own encode). */
  rendition?: string;
};
/** What flows from an audio encoder to a muxer. */
export type EncodedAudioOutput = { kind: 'audio'; chunk: EncodedAudioChunk; metadata: EncodedChunkMetadata<AudioDecoderConfig> };
/** Either kind of encoder output. */
export type EncodedOutput = EncodedVideoOutput | EncodedAudioOutput;
