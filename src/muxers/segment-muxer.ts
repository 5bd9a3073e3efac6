import {
  BufferTarget, CmafOutputFormat, EncodedAudioPacketSource, EncodedVideoPacketSource, MB_AUDIO_CODEC, MB_VIDEO_CODEC, MpegTsOutputFormat,
  NullTarget, Output, toPacket,
} from './mediabunny.js';
import type { AudioDecoderConfig, EncodedOutput, VideoDecoderConfig } from '../media/encoded-chunk.js';
import type { AudioCodecName, VideoCodecName } from '../config/codecs.js';
import type { SegmentFormat } from '../config/outputs.js';
import { toAvpipeError } from '../errors.js';
import { usToSeconds, type Microseconds } from '../time.js';


/** One muxed segment; `init` is set on the first fMP4 segment (the EXT-X-MAP init segment). */
export interface MuxedSegment {
  data: Uint8Array;
  init: Uint8Array | undefined;
}

/**
 * Muxes one segment's packets with mediabunny: a whole MPEG-TS file, or one CMAF fragment (moof +
 * mdat, with the init segment written once). Timestamps are kept absolute (moved by `shiftUs`, the
 * same for every segment), so segments continue each other on one timeline.
 */
export async function muxSegment(
  format: SegmentFormat,
  tracks: { video?: VideoCodecName; audio?: AudioCodecName },
  configs: { video?: VideoDecoderConfig; audio?: AudioDecoderConfig },
  items: readonly EncodedOutput[],
  withInit: boolean,
  shiftUs: Microseconds = 0,
): Promise<MuxedSegment> {
  const target = new BufferTarget();
  const initTarget = format === 'fmp4' ? (withInit ? new BufferTarget() : new NullTarget()) : undefined;
  const output = new Output({
    // Fragments are cut by avpipe's segmenter: one fragment per segment.
    format: format === 'ts' ? new MpegTsOutputFormat() : new CmafOutputFormat({ minimumFragmentDuration: Infinity }),
    target, ...(initTarget === undefined ? {} : { initTarget }),
  });
  const video = tracks.video === undefined ? undefined : new EncodedVideoPacketSource(MB_VIDEO_CODEC[tracks.video]);
  const audio = tracks.audio === undefined ? undefined : new EncodedAudioPacketSource(MB_AUDIO_CODEC[tracks.audio]);
  if (video !== undefined) output.addVideoTrack(video);
  if (audio !== undefined) output.addAudioTrack(audio);
  try {
    await output.start();
    let firstVideo = true;
    let firstAudio = true;
    for (const { kind, chunk } of items) {
      const packet = shiftUs === 0 ? toPacket(chunk) : toPacket(chunk).clone({ timestamp: usToSeconds(chunk.timestamp + shiftUs) });
      if (kind === 'video' && video !== undefined) {
        await video.add(packet, firstVideo ? { decoderConfig: configs.video as never } : undefined);
        firstVideo = false;
      } else if (kind === 'audio' && audio !== undefined) {
        await audio.add(packet, firstAudio ? { decoderConfig: configs.audio as never } : undefined);
        firstAudio = false;
      }
    }
    await output.finalize();
  } catch (err) {
    await output.cancel().catch(() => undefined);
    throw toAvpipeError('MUXER_FAILED', `muxing a ${format} segment`, err);
  }
  return {
    data: new Uint8Array(target.buffer!),
    init: initTarget instanceof BufferTarget ? new Uint8Array(initTarget.buffer!) : undefined,
  };
}
