import { describe, expect, it } from 'vitest';
import { decodeChunkFile, encodeChunkFile } from '../../src/jobs/chunk-file.js';
import { chunkWorkFromJson, chunkWorkToJson } from '../../src/jobs/chunk-job-data.js';
import type { ChunkWorkerData } from '../../src/pipeline/chunk-protocol.js';

const packets = [
  { type: 'key' as const, timestamp: 0, duration: 33_333, decodeTimestamp: 0, data: new Uint8Array([0, 0, 0, 1, 0x67, 1, 2, 3]) },
  { type: 'delta' as const, timestamp: 66_666, duration: 33_333, decodeTimestamp: 33_333, data: new Uint8Array([9, 8, 7]) },
  { type: 'delta' as const, timestamp: 33_333, duration: null, decodeTimestamp: null, data: new Uint8Array(0) },
];
const decoderConfig = { codec: 'avc1.4d401f', codedWidth: 640, codedHeight: 360, description: new Uint8Array([1, 77, 0, 31, 255]) };

describe('a distributed export\'s chunk file', () => {
  it('carries the packets and the decoder configuration (its description\'s bytes) exactly', () => {
    const back = decodeChunkFile(encodeChunkFile({ decoderConfig, packets }), 'test');
    expect(back.decoderConfig).toEqual(decoderConfig);
    expect(back.packets).toEqual(packets);
    expect(decodeChunkFile(encodeChunkFile({ decoderConfig: undefined, packets: [] }), 'empty')).toEqual({ decoderConfig: undefined, packets: [] });
  });

  it('refuses bytes that are not a whole chunk file, as INPUT_INVALID naming the chunk and where', () => {
    const good = encodeChunkFile({ decoderConfig, packets });
    const fails = (bytes: Uint8Array) => {
      try {
        decodeChunkFile(bytes, '2 (key)');
      } catch (err) {
        return [(err as { code: string }).code, (err as Error).message];
      }
      return ['accepted'];
    };
    expect(fails(Buffer.from('RIFF....'))).toEqual(['INPUT_INVALID', 'chunk 2 (key): not an avpipe chunk file']);
    // Cut short: in the last packet's header (the packet itself is empty), or in the packet before's bytes.
    expect(fails(good.subarray(0, good.byteLength - 1))).toEqual(['INPUT_INVALID', "chunk 2 (key): packet 2's header runs past the end"]);
    const lastHeader = 4 + JSON.stringify({ type: 'delta', timestamp: 33_333, duration: null, decodeTimestamp: null, size: 0 }).length;
    expect(fails(good.subarray(0, good.byteLength - lastHeader - 1))).toEqual(['INPUT_INVALID', 'chunk 2 (key): packet 1 runs past the end']);
    // A header length far past the file (a hostile 4 GB claim) is refused before anything is read.
    const hostile = Buffer.concat([good.subarray(0, good.indexOf(0x0a, 15) + 1), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    expect(fails(hostile)).toEqual(['INPUT_INVALID', "chunk 2 (key): packet 0's header runs past the end"]);
    // A packet that claims to be larger than what follows.
    const json = Buffer.from(JSON.stringify({ type: 'key', timestamp: 0, duration: null, decodeTimestamp: null, size: 1e9 }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.byteLength);
    expect(fails(Buffer.concat([good.subarray(0, good.indexOf(0x0a, 15) + 1), len, json]))).toEqual(['INPUT_INVALID', 'chunk 2 (key): packet 0 runs past the end']);
  });

  it('a file split\'s decoder description crosses JSON (a job\'s data) as base64 and comes back as its bytes', () => {
    const work = { source: { type: 'file', path: 's3://b/in.mp4', trackId: 1, shiftUs: 0, decoderConfig }, codecs: 'native', encoder: { codec: 'avc1.4d401f', width: 640, height: 360, framerate: 30 }, keyframeIntervalUs: 2_000_000 } as unknown as ChunkWorkerData;
    const back = chunkWorkFromJson(JSON.parse(JSON.stringify(chunkWorkToJson(work))) as ChunkWorkerData);
    expect(back).toEqual(work);
  });
});
