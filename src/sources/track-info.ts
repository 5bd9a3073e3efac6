import type { AudioRoute } from '../config/config-init.js';
import type { AudioDecoderConfig, VideoDecoderConfig } from '../media/encoded-chunk.js';

/**
 * A track a source declares before the graph is built. `encoded` is set when the source gives
 * encoded chunks (a file) instead of raw frames: the graph then decodes, or copies them (passthrough).
 */
export type TrackInfo =
  | {
    /** The track's ID, unique in its source: what `readable()` is asked for. */
    id: string;
    /** A video track: its stream carries video frames (or chunks). */
    kind: 'video';
    /** Frame width, pixels. */
    width: number;
    /** Frame height, pixels. */
    height: number;
    /** Frame rate, frames per second (a publisher's track, whose rate varies, states the encoding's). */
    fps: number;
    /** Set when the track comes as encoded chunks: their codec and decoder config. */
    encoded?: EncodedTrack<VideoDecoderConfig>;
    /** Where the track ends on the session timeline, when the container says (us); the last frame lasts until then. */
    endUs?: number;
    /** Where the track comes from, for errors (e.g. `input a.mp4, video track 1`). */
    label?: string;
    /** @internal Set when the track is read from a whole MP4 input (no offset): a copy of it may be a remux. */
    mp4?: Mp4Origin;
    /** @internal Set when a worker can make this track's frames for any span itself: its encode may be split. */
    splittable?: SplitSource;
    /** @internal The span of the input a trim keeps, set by avpipe's own file source. */
    trim?: TrackTrim;
  }
  | {
    /** The track's ID, unique in its source: what `readable()` is asked for. */
    id: string;
    /** An audio track: its stream carries audio buffers (or chunks). */
    kind: 'audio';
    /** Samples per second, per channel (Hz). */
    sampleRate: number;
    /** Number of audio channels. */
    channels: number;
    /** Set when the track comes as encoded chunks: their codec and decoder config. */
    encoded?: EncodedTrack<AudioDecoderConfig>;
    /** Which channels of a stereo mix the track goes to (default both). */
    route?: AudioRoute;
    /**
     * Set when the track's samples come from another clock than its timestamps (a publisher's sound
     * card, its times from the sender's reports): transcoded, its samples are resampled to fit its
     * timestamps (the drift measured as it goes). A copy keeps the samples as they are.
     */
    clockDrift?: boolean;
    /** Where the track starts on the session timeline (us), when later than the session start. */
    startUs?: number;
    /** Where the track comes from, for errors (e.g. `input a.mp4, audio track 2`). */
    label?: string;
    /** @internal Set when the track is read from a whole MP4 input (no offset): a copy of it may be a remux. */
    mp4?: Mp4Origin;
    /** @internal The span of the input a trim keeps, set by avpipe's own file source. */
    trim?: TrackTrim;
  };

/** What a source that gives encoded chunks says of a track's codec. */
export interface EncodedTrack<C> {
  /** mediabunny's codec name (`avc`, `aac`, ...), or `ffmpeg:<decoder>` for a track read through FFmpeg. */
  codec: string;
  /** What a decoder of the track is configured with (WebCodecs' shape). */
  decoderConfig: C;
  /** Why the track cannot be copied (it is decoded, whatever the config asks), when it cannot. */
  noCopy?: string;
}

/**
 * Set when a track is cut to a span of its input (on the session timeline the span starts at the
 * input's offset). Cut at `startUs`, its media is read from the keyframe (video) or a packet (audio)
 * before it: what comes before is decoded but not shown (a copy keeps it under an edit list). Its
 * media is read a little past `endUs` (the frames a B-frame needs) and cut there after decoding (a
 * copy: before it).
 */
export interface TrackTrim {
  startUs?: number;
  endUs?: number;
}

/**
 * How a chunk worker makes a video track's frames for a span of media time without the source: the
 * test pattern (frame i is a function of i), or a file decoded from the keyframe before the span.
 */
export type SplitSource = TestPatternSplit | FileSplit;

/** The test pattern's frames, made by the worker itself at the track's (and the encoding's) size and rate. */
export interface TestPatternSplit {
  type: 'test-pattern';
}

/**
 * A file's video track, read and decoded by the worker from the keyframe at or before its span: the
 * track's times on the session timeline are its own plus `shiftUs` (the file source checked, before
 * the split was used, that it has no jump or repeat to close up and really reaches its stated end).
 */
export interface FileSplit {
  type: 'file';
  path: string;
  /** The track's ID in its file (mediabunny's). */
  trackId: number;
  shiftUs: number;
  decoderConfig: VideoDecoderConfig;
}

/** The MP4 file a track is read from and its track ID there (tkhd's). */
export interface Mp4Origin {
  path: string;
  trackId: number;
}

