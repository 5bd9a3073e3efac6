import { AvpipeError } from '../../errors.js';
import type { CodecState, VideoEncoderConfig } from '../codec-provider.js';
import type { VideoFrame } from '../../media/video-frame.js';

/**
 * What the wasm video encoders check before taking a frame: configured, not failed, and the size they
 * were configured for. When it cannot be taken, the frame is closed (encode() owns it) and the reason thrown.
 */
export function checkFrame(frame: VideoFrame, state: CodecState, failed: Error | undefined, config: VideoEncoderConfig | undefined): asserts config is VideoEncoderConfig {
  if (state !== 'configured' || failed !== undefined || config === undefined) {
    frame.close();
    throw failed ?? new AvpipeError('INVALID_STATE', `encode() on a ${state} VideoEncoder`);
  }
  if (frame.codedWidth !== config.width || frame.codedHeight !== config.height) {
    frame.close();
    throw new AvpipeError('ENCODER_FAILED', `frame is ${frame.codedWidth}x${frame.codedHeight}, the encoder ${config.width}x${config.height}`);
  }
}
