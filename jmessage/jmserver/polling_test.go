package jmserver

import (
	"bytes"
	"testing"
)

func TestBinaryStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "ascii only", "héllo 中 🚀 \u2028", "\x00\x7f"} {
		enc := toBinaryString([]byte(s))
		dec, ok := fromBinaryString(enc)
		if !ok || !bytes.Equal(dec, []byte(s)) {
			t.Fatalf("%q: round trip gave %q (%v)", s, dec, ok)
		}
	}
	// "é" as engine.io-parser 1.2 sends it: UTF-8 of the binary string "Ã©".
	if dec, ok := fromBinaryString([]byte{0xc3, 0x83, 0xc2, 0xa9}); !ok || string(dec) != "é" {
		t.Fatalf("decoded %q", dec)
	}
	// Text that is not a binary string passes unchanged.
	if _, ok := fromBinaryString([]byte("中")); ok {
		t.Fatal("a character above U+00FF must not decode")
	}
}
