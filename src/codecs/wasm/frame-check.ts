import { AvpipeError } from '../../errors.js';
import type { VideoEncoderConfig } from '../codec-provider.js';
import type { VideoFrame } from '../../media/video-frame.js';

/**
 * What the wasm video encoders check before taking a frame (the state is the base class's check): the
 * size they were configured for. When it cannot be taken, the frame is closed (encode() owns it) and the reason thrown.
 */
export function checkFrameSize(frame: VideoFrame, config: VideoEncoderConfig): void {
  if (frame.codedWidth !== config.width || frame.codedHeight !== config.height) {
    frame.close();
    throw new AvpipeError('ENCODER_FAILED', `frame is ${frame.codedWidth}x${frame.codedHeight}, the encoder ${config.width}x${config.height}`);
  }
}
