/** The node-av modules avpipe uses, loaded once on first use so that importing avpipe stays cheap. */
export interface NodeAv {
  lib: typeof import('node-av/lib');
  constants: typeof import('node-av/constants');
}

let loading: Promise<NodeAv> | undefined;

/** Loads node-av (FFmpeg 8 bindings, a prebuilt N-API addon) once. */
export function loadNodeAv(): Promise<NodeAv> {
  loading ??= Promise.all([import('node-av/lib'), import('node-av/constants')]).then(([lib, constants]) => {
    // FFmpeg's banner lines ("using cpu capabilities...") are noise in a library; errors still print.
    lib.Log.setLevel(constants.AV_LOG_ERROR);
    return { lib, constants };
  });
  return loading;
}
