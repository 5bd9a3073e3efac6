import { AudioData } from '../media/audio-data.js';
import type { EncodedChunk, EncodedOutput } from '../media/encoded-chunk.js';
import { VideoFrame } from '../media/video-frame.js';
import type { QueueMeasure } from './bounded-queue.js';

/** Anything a pipeline queue holds: raw frames and audio, encoded chunks, or encoder outputs. */
export type QueuedMedia = VideoFrame | AudioData | EncodedChunk | EncodedOutput;

/**
 * Bytes and media time of a pipeline item, for the byte and time bounds of live queues. Items of an
 * interleaved queue (encoder outputs) are measured per track kind, so audio sitting behind video does not
 * count as time held.
 */
export const MEDIA_MEASURE: QueueMeasure<QueuedMedia> = {
  bytes(item) {
    if ('chunk' in item) return item.chunk.byteLength;
    if (item instanceof VideoFrame) return item.allocationSize();
    if (item instanceof AudioData) return item.allocationSize({ planeIndex: 0 }) * item.numberOfChannels;
    return item.byteLength;
  },
  span(item) {
    const [track, chunk] = 'chunk' in item ? [item.kind, item.chunk] : [item instanceof AudioData ? 'audio' : 'video', item];
    return { track, start: chunk.timestamp, end: chunk.timestamp + (chunk.duration ?? 0) };
  },
};
