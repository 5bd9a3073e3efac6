import { randomBytes } from 'node:crypto';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { rootCertificates as tlsRootCertificates, connect as tlsConnect } from 'node:tls';
import { AvpipeError } from '../../errors.js';
import { decodeAmf0, encodeAmf0, type Amf0Object, type Amf0Value } from './amf0.js';
import { ChunkReader, ChunkWriter, MSG, type RtmpMessage } from './chunk-stream.js';

/** Chunk stream ids: control, commands, audio, video (what OBS and ffmpeg use). */
const CSID = { control: 2, command: 3, audio: 4, video: 6, data: 5 } as const;
const CHUNK_SIZE = 4096;

/** An rtmp(s):// URL split the way publishers split it: tcUrl = up to the app, the rest is the stream key. */
export function parseRtmpUrl(url: string): { host: string; port: number; tls: boolean; app: string; key: string; tcUrl: string } {
  const u = new URL(url);
  const tls = u.protocol === 'rtmps:';
  const parts = u.pathname.replace(/^\//, '').split('/');
  if (parts.length < 2 || parts[0] === '' || parts.at(-1) === '') throw new AvpipeError('CONFIG_INVALID', `${url}: an RTMP URL needs an app and a stream key (rtmp://host/app/key)`);
  const app = parts[0]!;
  const key = parts.slice(1).join('/') + u.search;
  return { host: u.hostname, port: u.port === '' ? (tls ? 443 : 1935) : Number(u.port), tls, app, key, tcUrl: `${u.protocol}//${u.host}/${app}` };
}

/**
 * A minimal RTMP publisher (handshake, connect, createStream, publish), written here because npm has
 * RTMP servers but no maintained publishing client. Writes wait for the socket to drain, so a slow
 * server pushes back on the output's queue.
 */
export class RtmpClient {
  readonly url: string;
  private _socket: Socket | undefined;
  private readonly _writer = new ChunkWriter();
  private readonly _reader = new ChunkReader();
  private _streamId = 0;
  private _txn = 0;
  private readonly _pending = new Map<number, { resolve: (v: Amf0Value[]) => void; reject: (e: Error) => void }>();
  private _statusWaiter: { code: string; resolve: () => void; reject: (e: Error) => void } | undefined;
  private _closedError: Error | undefined;
  private _onClose: ((err: Error) => void) | undefined;
  private _received = 0;
  private _windowAck = 2_500_000;
  private _lastAck = 0;
  private _abortConnect: ((err: Error) => void) | undefined;

  private readonly _ca: string | Uint8Array | undefined;

  /** `ca`: certificate authorities an rtmps:// server's certificate may chain to, beside the system's. */
  constructor(url: string, ca?: string | Uint8Array) {
    this.url = url;
    this._ca = ca;
  }

  /** Connects and publishes; rejects within `timeoutMs` if the server does not get there. */
  async connect(timeoutMs = 10_000): Promise<void> {
    const u = parseRtmpUrl(this.url);
    const socket = await new Promise<Socket>((resolve, reject) => {
      this._abortConnect = (err) => {
        s.destroy();
        reject(err);
      };
      const s = u.tls ? tlsConnect({ host: u.host, port: u.port, servername: isIP(u.host) === 0 ? u.host : '', ...(this._ca === undefined ? {} : { ca: [...tlsRootCertificates, Buffer.from(this._ca).toString()] }) }) : netConnect({ host: u.host, port: u.port });
      s.once(u.tls ? 'secureConnect' : 'connect', () => resolve(s));
      s.once('error', reject);
      s.setTimeout(timeoutMs, () => s.destroy(new Error(`connecting to ${u.host}:${u.port} timed out`)));
    });
    socket.setNoDelay(true);
    this._socket = socket;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      this._abortConnect = (err) => {
        socket.destroy();
        reject(err);
      };
      timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the RTMP server at ${u.host}:${u.port} did not accept the stream within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([this._session(socket, u), deadline]);
    } finally {
      clearTimeout(timer);
      socket.setTimeout(0);
      this._abortConnect = undefined;
    }
  }

  /** Called once when the connection drops (not after close()). */
  onClose(fn: (err: Error) => void): void {
    this._onClose = fn;
  }

  /** Sends metadata (@setDataFrame onMetaData). */
  async sendMetadata(meta: Amf0Object): Promise<void> {
    await this._send(CSID.data, { type: MSG.DATA_AMF0, streamId: this._streamId, timestamp: 0, payload: encodeAmf0('@setDataFrame', 'onMetaData', meta) });
  }

  /** Sends one FLV video or audio tag body at `timestampMs`. */
  async sendMedia(kind: 'video' | 'audio', timestampMs: number, body: Uint8Array): Promise<void> {
    await this._send(kind === 'video' ? CSID.video : CSID.audio, { type: kind === 'video' ? MSG.VIDEO : MSG.AUDIO, streamId: this._streamId, timestamp: timestampMs, payload: body });
  }

  /** Drops the connection at once (a connect still under way fails). */
  destroy(): void {
    this._closedError ??= new Error('closed');
    this._onClose = undefined;
    this._abortConnect?.(new Error('closed'));
    this._socket?.destroy();
  }

  /** Unpublishes and closes; idempotent. */
  async close(): Promise<void> {
    const s = this._socket;
    if (s === undefined || this._closedError !== undefined) return;
    this._closedError = new Error('closed');
    this._onClose = undefined;
    try {
      const u = parseRtmpUrl(this.url);
      s.write(this._command('FCUnpublish', this._txn++, null, u.key));
      s.write(this._command('deleteStream', this._txn++, null, this._streamId));
    } catch {
      // closing anyway
    }
    await new Promise<void>((resolve) => {
      s.end(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
    s.destroy();
  }

  private async _session(socket: Socket, u: ReturnType<typeof parseRtmpUrl>): Promise<void> {
    // Handshake: C0 + C1, then S0 + S1 + S2, then C2 (echo of S1).
    const c1 = Buffer.alloc(1536);
    randomBytes(1528).copy(c1, 8);
    socket.write(Buffer.concat([Buffer.from([3]), c1]));
    const s = await this._readExactly(socket, 1 + 1536 + 1536);
    if (s[0] !== 3) throw new Error(`the server answered RTMP version ${s[0]}, not 3`);
    socket.write(s.subarray(1, 1537));
    const rest = s.subarray(1 + 3072);
    socket.on('data', (d: Buffer) => this._onData(d));
    socket.on('error', (err) => this._drop(err));
    socket.on('close', () => this._drop(new Error('the RTMP server closed the connection')));
    if (rest.length > 0) this._onData(rest);

    await this._control(MSG.SET_CHUNK_SIZE, uint32(CHUNK_SIZE));
    this._writer.chunkSize = CHUNK_SIZE;
    const connected = await this._call('connect', { app: u.app, type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; avpipe)', tcUrl: u.tcUrl });
    const info = connected[1] as Amf0Object | undefined;
    if (connected[0] === '_error') throw new Error(`connect refused: ${String(info?.['description'] ?? info?.['code'] ?? 'no reason given')}`);
    socket.write(this._command('releaseStream', this._txn++, null, u.key));
    socket.write(this._command('FCPublish', this._txn++, null, u.key));
    const created = await this._call('createStream');
    if (created[0] === '_error' || typeof created[1] !== 'number') throw new Error('createStream was refused');
    this._streamId = created[1];
    const started = new Promise<void>((resolve, reject) => (this._statusWaiter = { code: 'NetStream.Publish.Start', resolve, reject }));
    await this._send(CSID.command, { type: MSG.COMMAND_AMF0, streamId: this._streamId, timestamp: 0, payload: encodeAmf0('publish', this._txn++, null, u.key, 'live') });
    await started;
  }

  private _readExactly(socket: Socket, n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let got = 0;
      const onData = (d: Buffer): void => {
        parts.push(d);
        got += d.length;
        if (got >= n) {
          socket.off('data', onData);
          socket.off('close', onClose);
          resolve(Buffer.concat(parts));
        }
      };
      const onClose = (): void => reject(new Error('the server closed the connection during the RTMP handshake'));
      socket.on('data', onData);
      socket.once('close', onClose);
    });
  }

  private _onData(d: Buffer): void {
    this._received += d.length;
    if (this._received - this._lastAck >= this._windowAck) {
      this._lastAck = this._received;
      void this._control(MSG.ACK, uint32(this._received >>> 0)).catch(() => undefined);
    }
    let msgs: RtmpMessage[];
    try {
      msgs = this._reader.push(d);
    } catch (err) {
      this._socket?.destroy(err as Error);
      return;
    }
    for (const m of msgs) this._onMessage(m);
  }

  private _onMessage(m: RtmpMessage): void {
    const p = Buffer.from(m.payload);
    if (m.type === MSG.WINDOW_ACK_SIZE) this._windowAck = p.readUInt32BE(0);
    else if (m.type === MSG.USER_CONTROL && p.readUInt16BE(0) === 6) {
      // Ping request: answer with a ping response carrying the same time.
      void this._control(MSG.USER_CONTROL, Buffer.concat([Buffer.from([0, 7]), p.subarray(2, 6)])).catch(() => undefined);
    } else if (m.type === MSG.COMMAND_AMF0) {
      let values: Amf0Value[];
      try {
        values = decodeAmf0(m.payload);
      } catch {
        return;
      }
      const [name, txn, , info] = values;
      if ((name === '_result' || name === '_error') && typeof txn === 'number') {
        this._pending.get(txn)?.resolve([name, values[3] ?? values[2]]);
        this._pending.delete(txn);
      } else if (name === 'onStatus' && typeof info === 'object' && info !== null) {
        const code = String((info)['code'] ?? '');
        const w = this._statusWaiter;
        if (w !== undefined && code === w.code) {
          this._statusWaiter = undefined;
          w.resolve();
        } else if (w !== undefined && String((info)['level']) === 'error') {
          this._statusWaiter = undefined;
          w.reject(new Error(`publish refused: ${code} ${String((info)['description'] ?? '')}`.trim()));
        }
      }
    }
  }

  private _drop(err: Error): void {
    if (this._closedError !== undefined) return;
    this._closedError = err;
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
    this._statusWaiter?.reject(err);
    this._statusWaiter = undefined;
    const cb = this._onClose;
    this._onClose = undefined;
    cb?.(err);
  }

  private _call(name: string, ...args: Amf0Value[]): Promise<Amf0Value[]> {
    const txn = ++this._txn;
    const result = new Promise<Amf0Value[]>((resolve, reject) => this._pending.set(txn, { resolve, reject }));
    this._socket!.write(this._command(name, txn, ...(args.length === 0 ? [null] : args)));
    return result;
  }

  private _command(name: string, txn: number, ...args: Amf0Value[]): Buffer {
    return this._writer.encode(CSID.command, { type: MSG.COMMAND_AMF0, streamId: 0, timestamp: 0, payload: encodeAmf0(name, txn, ...args) });
  }

  private async _control(type: number, payload: Uint8Array): Promise<void> {
    await this._send(CSID.control, { type, streamId: 0, timestamp: 0, payload });
  }

  private async _send(csid: number, msg: RtmpMessage): Promise<void> {
    const s = this._socket;
    if (s === undefined || this._closedError !== undefined) throw this._closedError ?? new Error('not connected');
    if (!s.write(this._writer.encode(csid, msg))) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => { s.off('close', onClose); resolve(); };
        const onClose = (): void => { s.off('drain', onDrain); reject(this._closedError ?? new Error('connection closed')); };
        s.once('drain', onDrain);
        s.once('close', onClose);
      });
    }
  }
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
