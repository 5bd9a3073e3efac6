import type { AudioDecoderConfig } from '../../media/encoded-chunk.js';
import type { Microseconds } from '../../time.js';
import type { AudioEncoderConfig } from '../codec-provider.js';

/** Main thread -> encode worker. */
export type ToEncodeWorker =
  | { type: 'configure'; config: AudioEncoderConfig }
  /** Contiguous samples, planar (`channels` planes of `frames` each), the buffer transferred. */
  | { type: 'audio'; timestamp: Microseconds; frames: number; data: Float32Array }
  | { type: 'flush' };

/** An encoded packet crossing back, its bytes in a transferred buffer. */
export interface EncodedAudioPacket {
  timestamp: Microseconds;
  duration: Microseconds | null;
  data: Uint8Array;
  decoderConfig?: AudioDecoderConfig;
}

/** Encode worker -> main thread: the packets of one batch (or of a flush), then that it is done. */
export type FromEncodeWorker =
  | { type: 'encoded'; packets: EncodedAudioPacket[] }
  | { type: 'flushed'; packets: EncodedAudioPacket[] }
  | { type: 'error'; code: string; message: string };
