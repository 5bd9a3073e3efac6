import type { OutputSpec } from '../config/outputs.js';
import type { Microseconds } from '../time.js';

/** A finished file: its path, its key in storage, its size; `keepLocal` for files rewritten later (playlists). */
export type FileDone = (path: string, key: string, bytes: number, keepLocal?: boolean) => void;

/**
 * One output of a pipeline (a file, an HLS playlist, thumbnails, a stream), fed through its own tee
 * port. `T` is what it takes: encoded chunks, raw frames or raw audio.
 */
export interface OutputNode<T, R> {
  readonly spec: OutputSpec;
  /** Its path, playlist, template or URL. */
  readonly name: string;
  /** Takes the media; closed when every track has ended (not finalized yet). */
  readonly writable: WritableStream<T>;
  /** Opens what must exist before media flows (a header, a connection). */
  start(): Promise<void>;
  /** Completes the output: finalized and playable, or removed. Throws when it could not be. */
  finalize(): Promise<void>;
  /** Gives the output up without finalizing (a run that never went active); leaves nothing behind. */
  discard(): Promise<void>;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Media time complete in this output (the end of its slowest track); undefined when it has no timeline. */
  mediaTime(): Microseconds | undefined;
  /** Its entry in the run's result. */
  result(): R;
  /**
   * Set by an output fed through several tee ports instead of `writable` (an HLS ladder: one per
   * rendition, so that each port's queue holds one video stream): each port's name suffix, what it
   * takes, and where it goes.
   */
  readonly ports?: readonly OutputPort<T>[];
}

/** One of an output's tee ports (see {@link OutputNode.ports}). */
export interface OutputPort<T> {
  suffix: string;
  accepts: (item: T) => boolean;
  writable: WritableStream<T>;
}
