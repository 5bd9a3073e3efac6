import { AvpipeError } from '../errors.js';
import type { CodecProvider } from './codec-provider.js';

/** Which codecs a pipeline runs on: native FFmpeg (node-av), WebAssembly only, or native when it loads. */
export type CodecProviderChoice = 'native' | 'wasm' | 'auto';

/** The codec provider choices, for validation and the CLI. */
export const CODEC_PROVIDER_CHOICES: readonly CodecProviderChoice[] = ['native', 'wasm', 'auto'];

/**
 * Loads the provider a config chose. `auto` takes node-av when its addon loads on this host, else the
 * wasm provider. Each is imported only when chosen: a wasm run never loads the native addon.
 */
export async function loadCodecProvider(choice: CodecProviderChoice): Promise<CodecProvider> {
  if (choice !== 'wasm') {
    try {
      const { NodeAvProvider } = await import('./node-av-provider.js');
      return await NodeAvProvider.load();
    } catch (err) {
      if (choice === 'native') throw new AvpipeError('ENCODER_FAILED', `the native codec provider (node-av) does not load here: ${(err as Error).message}`, { cause: err });
    }
  }
  const { WasmProvider } = await import('./wasm/wasm-provider.js');
  return new WasmProvider();
}
