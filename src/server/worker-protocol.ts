import type { PipelineConfigInit } from '../config/config-init.js';
import type { AvpipeErrorCode } from '../errors.js';
import type { PipelineResult } from '../pipeline/status.js';
import type { WebRtcSourceStats } from '../sources/webrtc/webrtc-source.js';
import type { SessionHostOptions, SessionStats } from './session-host.js';

/**
 * The messages between the WHIP server's main thread and a session worker (./whip-worker.ts): the
 * main thread calls the worker's SessionHost and is answered per call; the worker also tells it,
 * unasked, when a session ends and, each second, every session's counters. Both sides type their
 * `postMessage` and `'message'` handler with these, so a field one side renames the other must too.
 */

/** What a worker starts with (its `workerData`): a session host's options, less the codec provider (a worker uses node-av). */
export type WorkerData = Omit<SessionHostOptions, 'codecProvider'>;

/** A call on the worker's session host, one per SessionHost method the main thread uses. */
export type HostCall =
  | { op: 'open'; id: string; name: string; init: PipelineConfigInit; offer: string }
  | { op: 'waiting'; id: string }
  | { op: 'resume'; id: string; offer: string }
  | { op: 'candidate'; id: string; candidate: string; mid: string | undefined }
  | { op: 'hangUp'; id: string }
  | { op: 'setPaused'; id: string; paused: boolean }
  | { op: 'stopAll'; abort: boolean };

/** What the reply to each call carries: the answer SDP, whether the session waits for its publisher, or nothing. */
export interface HostCallValues {
  open: string;
  waiting: boolean;
  resume: string;
  candidate: undefined;
  hangUp: undefined;
  setPaused: boolean;
  stopAll: undefined;
}

/** Main thread to worker: a call, numbered so that its reply finds it. */
export type ToWorker = HostCall & { req: number };

/** Worker to main thread: a call's value or error, a session's end, or every session's counters. */
export type FromWorker =
  | { type: 'reply'; req: number; value: HostCallValues[HostCall['op']] }
  | { type: 'error'; req: number; error: { code: AvpipeErrorCode; message: string } }
  | { type: 'end'; id: string; result: PipelineResult; stats: WebRtcSourceStats }
  | { type: 'stats'; sessions: (SessionStats & { id: string })[] };
