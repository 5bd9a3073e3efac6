/**
 * `record` on a terminal: `p` pauses and resumes a live recording (the paused time is cut from the
 * outputs). The terminal goes to raw mode for single keys, so Ctrl-C arrives as a key: it is passed on
 * as the SIGINT it would have been. Nothing happens when stdin is not a terminal.
 */
export function pauseKeys(target: { pause(): boolean; resume(): boolean; readonly paused: boolean }, say: (line: string) => void): { off: () => void } {
  const stdin = process.stdin;
  if (stdin.isTTY !== true) return { off: () => undefined };
  stdin.setRawMode(true);
  stdin.resume();
  const onData = (data: Buffer): void => {
    for (const byte of data) {
      if (byte === 0x03) process.kill(process.pid, 'SIGINT');
      else if (byte === 0x70 || byte === 0x50) {
        try {
          const resumed = target.paused;
          if (resumed ? target.resume() : target.pause()) say(resumed ? 'resumed' : 'paused (p resumes)');
        } catch (err) {
          say((err as Error).message);
        }
      }
    }
  };
  stdin.on('data', onData);
  return {
    off: () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}
