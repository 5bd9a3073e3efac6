import type { CodecProvider } from '../codecs/codec-provider.js';
import { TsFrameScaler, type FrameScaler } from '../convert/frame-scaler.js';

interface Size {
  width: number;
  height: number;
}

/**
 * How decoded frames of `from`'s size reach `to`'s: the decoder is told the size (one that can scale
 * as it decodes does, and the scaler then passes its frames through), and a scaler takes what comes
 * at another size (the provider's, else avpipe's own). Nothing when the sizes match. Shared by the
 * graph's video branch and a split encode's file chunks, so both scale alike.
 * @internal
 */
export function videoScaling(provider: CodecProvider, from: Size, to: Size): { decoderFields: { scaleTo?: Size }; scaler: FrameScaler | undefined } {
  if (from.width === to.width && from.height === to.height) return { decoderFields: {}, scaler: undefined };
  const size = { width: to.width, height: to.height };
  return { decoderFields: { scaleTo: size }, scaler: provider.createVideoScaler?.(size.width, size.height) ?? new TsFrameScaler(size.width, size.height) };
}
