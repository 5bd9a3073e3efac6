import type { QueueBounds, QueuePolicy } from '../queues/bounded-queue.js';
import type { Microseconds } from '../time.js';

/**
 * What `live` means for a run, decided once: the only place the pipeline reads the flag (sources read
 * it for their pacing, the CLI for its defaults). Live (GStreamer's is-live): the source is paced by
 * the clock and never waits for a slow stage; non-live (replay, export): every stage waits for the
 * next, nothing is dropped.
 */
export interface RunPolicy {
  readonly live: boolean;
  /**
   * Raw-media queues and output ports when full: drop the oldest (live) or block (non-live). A copied
   * track's queue blocks either way: dropping encoded packets would corrupt the stream.
   */
  readonly queuePolicy: QueuePolicy;
  /** How far the faster track may run ahead of the other into the muxers (live: no bound, the clock paces both). */
  readonly interleaveUs: Microseconds;
  /** A stream output that fails: reported while the others go on (live), or the run fails. */
  readonly streamFailure: 'isolate' | 'fail';
  /** Audio the mixer may hold per input before that input waits, in seconds. */
  readonly mixerWindowS: number;
  /**
   * Decoded audio joined into blocks of this many seconds before it goes on (non-live: a fifth of
   * the items through every stage after the decoder); 0 keeps each decoded frame, as live needs.
   */
  readonly decodedAudioBlockS: number;
  /** How file outputs write. */
  readonly fileWrites: FileWritePolicy;
  /** Queue bounds where the config sets none. */
  readonly queues: Readonly<ResolvedQueues>;
}

/** Every queue's bounds, decided. */
export interface ResolvedQueues {
  video: QueueBounds;
  audio: QueueBounds;
  encoder: number;
  output: QueueBounds;
}

/** How a file output writes its bytes. */
export interface FileWritePolicy {
  /**
   * Written to `.NAME.partial` beside the path and renamed on success (exports): the path never holds
   * half a file. A live recording is written at its path, where a killed recorder's file is repaired.
   */
  readonly writeAside: boolean;
  /**
   * MP4 and WebM written crash-safe (live): fragments / clusters of at least this many seconds, each
   * on disk whole before the next. Undefined: one file finalized at the end.
   */
  readonly fragmentS: number | undefined;
  /**
   * Writes gathered into chunks of this many bytes where nothing else decides (no fragments, no size
   * limit watching each write): 4 MiB exports, 256 KiB live (about a second of 720p; a write per
   * block would be thousands of system calls a second across many sessions).
   */
  readonly chunkBytes: number;
}

/** How far the faster track may run ahead in the muxer of a non-live run. */
const NON_LIVE_INTERLEAVE_US = 1_000_000;
/** A live MP4's fragments, a live WebM's clusters: at least this long, cut on the next keyframe after it. */
const LIVE_FRAGMENT_S = 1;

/**
 * Default queue bounds. Non-live queues block, so small item bounds keep memory flat: about a third
 * of a second of 30 fps video, 200 ms of audio in 20 ms buffers, 2 s per output. Live queues drop the
 * oldest past 3 s of media (egress's), with item and byte bounds that 3 s of 1080p60 raw video or of
 * a 50 Mb/s stream stays under.
 */
export const DEFAULT_QUEUES: { readonly live: ResolvedQueues; readonly nonLive: ResolvedQueues } = {
  nonLive: { video: { items: 8 }, audio: { items: 10 }, encoder: 4, output: { items: 160 } },
  live: {
    video: { items: 300, bytes: 640 << 20, timeUs: 3_000_000 },
    audio: { items: 1000, bytes: 64 << 20, timeUs: 3_000_000 },
    encoder: 4,
    output: { items: 2000, bytes: 64 << 20, timeUs: 3_000_000 },
  },
};

const LIVE: RunPolicy = {
  live: true, queuePolicy: 'drop-oldest', interleaveUs: Infinity, streamFailure: 'isolate', mixerWindowS: 10, decodedAudioBlockS: 0,
  fileWrites: { writeAside: false, fragmentS: LIVE_FRAGMENT_S, chunkBytes: 256 << 10 }, queues: DEFAULT_QUEUES.live,
};
const NON_LIVE: RunPolicy = {
  live: false, queuePolicy: 'block', interleaveUs: NON_LIVE_INTERLEAVE_US, streamFailure: 'fail', mixerWindowS: 1, decodedAudioBlockS: 0.1,
  fileWrites: { writeAside: true, fragmentS: undefined, chunkBytes: 4 << 20 }, queues: DEFAULT_QUEUES.nonLive,
};

/** The policy of a live or a non-live run. */
export function runPolicy(live: boolean): RunPolicy {
  return live ? LIVE : NON_LIVE;
}
