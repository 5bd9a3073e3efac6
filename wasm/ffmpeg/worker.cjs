// One ffmpeg.wasm run (@ffmpeg/core, single thread) in a worker thread, streamed: its input is an
// Emscripten device whose read() takes bytes from a SharedArrayBuffer ring (waiting with Atomics.wait
// when it is empty, which a worker may do), its output a device whose write() posts the bytes to the
// parent as they come. The compiled WebAssembly.Module comes from the parent, so the 32 MB module is
// compiled once per process and only instantiated here. exec() is synchronous: hence the worker.
//
// workerData: { module: WebAssembly.Module, factory: path of ffmpeg-core.js, args: string[],
//               ring: SharedArrayBuffer, ctl: SharedArrayBuffer (Int32 [written, read, closed]),
//               outputs: number of output devices: /out, then /out1, /out2 ... }
// posts: { out: Uint8Array, to: output index } ... then { done: exitCode, log: string[] }
'use strict';
const { workerData, parentPort } = require('node:worker_threads');

// The Emscripten glue looks for a browser-ish global scope.
globalThis.self = globalThis;
globalThis.location = { href: `file://${__dirname}/` };
const createFFmpegCore = require(workerData.factory);

const ring = new Uint8Array(workerData.ring);
const ctl = new Int32Array(workerData.ctl);
const size = ring.length;
const log = [];

createFFmpegCore({
  instantiateWasm(imports, done) {
    WebAssembly.instantiate(workerData.module, imports).then((instance) => done(instance, workerData.module));
    return {};
  },
}).then((core) => {
  const FS = core.FS;
  const input = FS.makedev(64, 0);
  FS.registerDevice(input, {
    open() {}, close() {}, write() { return 0; },
    read(_stream, buffer, offset, length) {
      for (;;) {
        const written = Atomics.load(ctl, 0);
        const read = Atomics.load(ctl, 1);
        const available = written - read;
        if (available > 0) {
          const n = Math.min(length, available);
          for (let k = 0; k < n;) {
            const at = (read + k) % size;
            const run = Math.min(n - k, size - at);
            buffer.set(ring.subarray(at, at + run), offset + k);
            k += run;
          }
          Atomics.store(ctl, 1, read + n);
          Atomics.notify(ctl, 1);
          return n;
        }
        if (Atomics.load(ctl, 2) === 1) return 0;
        Atomics.wait(ctl, 0, written, 1000);
      }
    },
  });
  FS.mkdev('/in', input);
  for (let to = 0; to < (workerData.outputs || 1); to++) {
    const output = FS.makedev(64, 1 + to);
    FS.registerDevice(output, {
      open() {}, close() {}, read() { return 0; },
      write(_stream, buffer, offset, length) {
        // `buffer` is Emscripten's heap as an Int8Array: post the bytes as a Uint8Array copy.
        const out = new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length).slice();
        parentPort.postMessage({ out, to }, [out.buffer]);
        return length;
      },
    });
    FS.mkdev(to === 0 ? '/out' : `/out${to}`, output);
  }
  core.setLogger(({ message }) => {
    log.push(message);
    if (log.length > 50) log.shift();
  });
  const code = core.exec(...workerData.args);
  parentPort.postMessage({ done: code, log });
}, (err) => parentPort.postMessage({ done: -1, log: [String(err && err.message || err)] }));
