import { parentPort, workerData } from 'node:worker_threads';
import type { ChunkWorkerData } from './chunk-protocol.js';
import { serveChunks } from './chunk-work.js';

/** A worker thread of a split encode: the chunk work of ./chunk-work.js on the thread's port. */
serveChunks(workerData as ChunkWorkerData, parentPort!);
