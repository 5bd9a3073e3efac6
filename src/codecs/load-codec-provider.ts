import { AvpipeError } from '../errors.js';
import type { CodecProviderChoice } from '../config/codecs.js';
import type { CodecProvider } from './codec-provider.js';

/**
 * Loads the provider a config chose. `auto` takes node-av when its addon loads on this host, else the
 * wasm provider. Each is imported only when chosen: a wasm run never loads the native addon.
 */
export async function loadCodecProvider(choice: CodecProviderChoice): Promise<CodecProvider> {
  if (choice !== 'wasm') {
    try {
      const { NodeAvProvider } = await import('./native/node-av-provider.js');
      return await NodeAvProvider.load();
    } catch (err) {
      if (choice === 'native') throw new AvpipeError('ENCODER_FAILED', `the native codec provider (node-av) does not load here: ${(err as Error).message}`, { cause: err });
    }
  }
  const { WasmProvider } = await import('./wasm/wasm-provider.js');
  return new WasmProvider();
}
