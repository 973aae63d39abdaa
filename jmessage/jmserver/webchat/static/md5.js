// md5.js: MD5 (RFC 1321) of a string's UTF-8 bytes, as lowercase hex.
// Written for this page (SubtleCrypto has no MD5); it hashes login and
// register passwords as the JMessage v1 protocol wants (spec §5).
//
//   md5('123456') === 'e10adc3949ba59abbe56e057f20f883e'
'use strict';

(function (global) {
  // Per-round shift amounts and the constants floor(abs(sin(i+1)) * 2^32).
  const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const K = new Uint32Array(64);
  for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000);

  function md5(text) {
    const data = new TextEncoder().encode(String(text));
    // Padding: 0x80, zeros up to 56 mod 64, then the bit length (64-bit LE).
    const padded = new Uint8Array(((data.length + 8) >> 6) * 64 + 64);
    padded.set(data);
    padded[data.length] = 0x80;
    const view = new DataView(padded.buffer);
    const bits = data.length * 8;
    view.setUint32(padded.length - 8, bits >>> 0, true);
    view.setUint32(padded.length - 4, Math.floor(bits / 0x100000000), true);

    let a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
    const M = new Uint32Array(16);
    for (let off = 0; off < padded.length; off += 64) {
      for (let j = 0; j < 16; j++) M[j] = view.getUint32(off + j * 4, true);
      let a = a0, b = b0, c = c0, d = d0;
      for (let i = 0; i < 64; i++) {
        let f, g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
        else { f = c ^ (b | ~d); g = (7 * i) & 15; }
        const sum = (a + f + K[i] + M[g]) >>> 0;
        const s = S[(i >> 4) * 4 + (i & 3)];
        a = d; d = c; c = b;
        b = (b + ((sum << s) | (sum >>> (32 - s)))) >>> 0;
      }
      a0 = (a0 + a) >>> 0; b0 = (b0 + b) >>> 0; c0 = (c0 + c) >>> 0; d0 = (d0 + d) >>> 0;
    }
    let hex = '';
    for (const w of [a0, b0, c0, d0]) {
      for (let k = 0; k < 4; k++) hex += ((w >>> (8 * k)) & 0xff).toString(16).padStart(2, '0');
    }
    return hex;
  }

  global.md5 = md5;
})(typeof window !== 'undefined' ? window : globalThis);
