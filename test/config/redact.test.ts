import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/index.js';

describe('redactUrl: stream URLs fit to print', () => {
  it.each([
    ['rtmp://live.example.com/app/sk_live_123', 'rtmp://live.example.com/app/****'],
    ['rtmps://live.example.com:443/app/a/b?x=1', 'rtmps://live.example.com:443/app/****?x=****'],
    ['rtmp://host/app', 'rtmp://host/app'],
    ['wss://user:pw@host/audio?token=abc&room=r', 'wss://user:****@host/audio?token=****&room=****'],
    ['ws://host/audio', 'ws://host/audio'],
    ['not a url with a key', '****'],
  ])('%s -> %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});
