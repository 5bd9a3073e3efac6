/** What a muxer writes: bytes at a position in its target, as mediabunny's StreamTarget emits them. */
export interface PositionalWrite {
  type: 'write';
  data: Uint8Array;
  position: number;
}
