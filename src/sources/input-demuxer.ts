import type { TrackInfo } from './track-info.js';

/** A demuxed packet, in seconds (mediabunny's EncodedPacket has this shape). */
export interface DemuxedPacket {
  type: 'key' | 'delta';
  timestamp: number;
  duration: number;
  data: Uint8Array;
}

/** One track of an opened input: what it is, and its packets in decode order. */
export interface DemuxedTrack {
  info: TrackInfo;
  /** The track's number in its file, from 1 (for messages). */
  number: number;
  /** The container's stated end of the track in seconds, when it states one. */
  declaredEnd: number | null;
  /**
   * From the start, or from the last keyframe (`key`) or packet at or before `from.seconds` (the
   * input's own time), or from the start where none is.
   */
  packets(from?: PacketsFrom): AsyncGenerator<DemuxedPacket, void, unknown>;
  /**
   * The packets' times and types without their data, when the track can be read again by a worker
   * of its own (mediabunny's demuxers): a split encode's chunks are then decoded from the file.
   */
  timing?(): AsyncGenerator<Omit<DemuxedPacket, 'data'>, void, unknown>;
}

/** Where a track's packets are read from: the last keyframe (`key`) or packet at or before `seconds`. */
export interface PacketsFrom {
  seconds: number;
  key: boolean;
}

/** What the file source needs from one opened input, whatever its format. */
export interface InputDemuxer {
  /** Where the input's media starts, seconds. */
  readonly firstTimestamp: number;
  /** The input's duration in seconds: stated by the container where it can, from its packets otherwise. */
  duration(): Promise<number>;
  tracks(): Promise<DemuxedTrack[]>;
  dispose(): void;
}
