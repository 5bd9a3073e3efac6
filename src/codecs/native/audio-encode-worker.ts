import { parentPort } from 'node:worker_threads';
import { toAvpipeError } from '../../errors.js';
import { AudioData } from '../../media/audio-data.js';
import { loadNodeAv } from './node-av-loader.js';
import { NodeAvAudioEncoder } from './node-av-audio-encoder.js';
import type { EncodedAudioPacket, FromEncodeWorker, ToEncodeWorker } from './audio-encode-protocol.js';

/**
 * The thread of a `WorkerAudioEncoder`: FFmpeg's encoder, fed the batches as they come and
 * run synchronously, the packets of each batch posted back together (their buffers transferred).
 */
const port = parentPort!;
let encoder: NodeAvAudioEncoder | undefined;
let packets: EncodedAudioPacket[] = [];
let failed: Error | undefined;
let channels = 2;
let sampleRate = 48000;

function post(message: FromEncodeWorker): void {
  const transfer = message.type === 'error' ? [] : message.packets.map((p) => p.data.buffer as ArrayBuffer);
  port.postMessage(message, transfer);
  packets = [];
}

function fail(err: unknown): void {
  // One report per failure: the encoder's error callback and the flush it rejects are the same one.
  if (failed !== undefined) return;
  const e = toAvpipeError('ENCODER_FAILED', 'audio encoder', err);
  failed = e;
  post({ type: 'error', code: e.code, message: e.message });
}

const ready = loadNodeAv();
let queue = Promise.resolve();
port.on('message', (m: ToEncodeWorker) => {
  // In order: the codec loads once, then each message after the one before.
  queue = queue.then(() => handle(m)).catch(fail);
});

async function handle(m: ToEncodeWorker): Promise<void> {
  if (failed !== undefined) return;
  if (m.type === 'configure') {
    const av = await ready;
    encoder ??= new NodeAvAudioEncoder(av, {
      output: (chunk, metadata) => {
        const data = new Uint8Array(chunk.byteLength);
        chunk.copyTo(data);
        packets.push({ timestamp: chunk.timestamp, duration: chunk.duration, data, ...(metadata.decoderConfig === undefined ? {} : { decoderConfig: metadata.decoderConfig }) });
      },
      error: (e) => fail(e),
    });
    encoder.configure(m.config);
    channels = m.config.numberOfChannels;
    sampleRate = m.config.sampleRate;
    return;
  }
  if (m.type === 'audio') {
    encoder!.encode(new AudioData({ format: 'f32-planar', sampleRate, numberOfFrames: m.frames, numberOfChannels: channels, timestamp: m.timestamp, data: m.data }));
    if (failed === undefined) post({ type: 'encoded', packets });
    return;
  }
  await encoder!.flush();
  if (failed === undefined) post({ type: 'flushed', packets });
}
