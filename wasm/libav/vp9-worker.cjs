// One VP9 encoder: libvpx-vp9 from libav.js (@libav.js/variant-webm-vp9, WebAssembly) in a worker
// thread, so encoding runs beside the pipeline instead of on its event loop. ffmpeg.wasm's own VP9
// crashes; this build does not. libav.js runs without a worker of its own here (noworker): its
// calls are synchronous in this thread.
//
// workerData: { width, height, framerate, bitrate, gop, cpuUsed }
// takes:  { frame: Uint8Array (tight I420), index: number, key: boolean }, then { flush: true }
// posts:  { packets: { data: Uint8Array, index: number, key: boolean }[], taken: number }
//         ... { packets, flushed: true } or { error: string }
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const LibAV = require('@libav.js/variant-webm-vp9');

const { width, height, framerate, bitrate, gop, cpuUsed } = workerData;
const ySize = width * height;
const cSize = (width >> 1) * (height >> 1);
const layout = [{ offset: 0, stride: width }, { offset: ySize, stride: width >> 1 }, { offset: ySize + cSize, stride: width >> 1 }];
const AV_PIX_FMT_YUV420P = 0;
const AV_PICTURE_TYPE_I = 1;
const AV_PKT_FLAG_KEY = 1;

function post(packets, extra) {
  const out = packets.map((p) => ({ data: p.data, index: p.pts, key: (p.flags & AV_PKT_FLAG_KEY) !== 0 }));
  parentPort.postMessage({ packets: out, ...extra }, out.map((p) => p.data.buffer));
}

const ready = (async () => {
  const libav = await LibAV.LibAV({ noworker: true, nothreads: true });
  // Errors only: libvpx's version banner is not for the pipeline's stderr.
  libav.av_log_set_level_sync(libav.AV_LOG_ERROR);
  const [, ctx, frame, pkt] = await libav.ff_init_encoder('libvpx-vp9', {
    ctx: { bit_rate: bitrate, pix_fmt: AV_PIX_FMT_YUV420P, width, height, gop_size: gop, framerate_num: framerate, framerate_den: 1 },
    time_base: [1, framerate],
    // Realtime, one frame in and one out: no lag, no alt-ref frames; row threads would need the threaded build.
    options: { deadline: 'realtime', 'cpu-used': String(cpuUsed), 'lag-in-frames': '0', 'auto-alt-ref': '0', 'row-mt': '0' },
  });
  return { libav, ctx, frame, pkt };
})();

parentPort.on('message', (m) => {
  ready.then(({ libav, ctx, frame, pkt }) => {
    if (m.flush) {
      post(libav.ff_encode_multi_sync(ctx, frame, pkt, [], true), { flushed: true });
      libav.ff_free_encoder_sync(ctx, frame, pkt);
      return;
    }
    const input = { data: m.frame, layout, format: AV_PIX_FMT_YUV420P, width, height, pts: m.index, ...(m.key ? { pict_type: AV_PICTURE_TYPE_I, key_frame: 1 } : {}) };
    post(libav.ff_encode_multi_sync(ctx, frame, pkt, [input], false), { taken: 1 });
  }).catch((err) => parentPort.postMessage({ error: String((err && err.message) || err) }));
});
