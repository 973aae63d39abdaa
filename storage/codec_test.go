package storage

import (
	"bytes"
	"errors"
	"testing"
)

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		exp     int64
		wantLen int
	}{
		{"plain empty", nil, 0, 1},
		{"plain text", []byte("hello"), 0, 6},
		{"plain starting with header bytes", []byte{1, 0, 0}, 0, 4},
		{"expiry empty", []byte{}, 1234567890123, 9},
		{"expiry text", []byte("v"), 1, 10},
		{"expiry negative time", []byte("v"), -5, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := encodeValue(tc.payload, tc.exp)
			if len(raw) != tc.wantLen {
				t.Fatalf("encoded length = %d, want %d", len(raw), tc.wantLen)
			}
			p, exp, err := decodeValue(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, tc.payload) || exp != tc.exp {
				t.Fatalf("decode = (%q, %d), want (%q, %d)", p, exp, tc.payload, tc.exp)
			}
		})
	}
}

func TestCodecLayout(t *testing.T) {
	got := encodeValue([]byte("ab"), 0x0102030405060708)
	want := []byte{hdrExpiry, 1, 2, 3, 4, 5, 6, 7, 8, 'a', 'b'}
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeValue = %v, want %v", got, want)
	}
	if got := encodeValue([]byte("ab"), 0); !bytes.Equal(got, []byte{hdrPlain, 'a', 'b'}) {
		t.Fatalf("plain encodeValue = %v", got)
	}
}

func TestCodecCorrupt(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty", []byte{}},
		{"unknown header", []byte{7, 'x'}},
		{"truncated expiry", []byte{hdrExpiry, 0, 0, 1}},
		{"zero expiry", []byte{hdrExpiry, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeValue(tc.raw)
			var ce corruptError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want corruptError", err)
			}
		})
	}
}

func TestExpired(t *testing.T) {
	tests := []struct {
		name     string
		exp, now int64
		want     bool
	}{
		{"no expiry", 0, 1 << 62, false},
		{"before", 100, 99, false},
		{"at instant", 100, 100, true},
		{"after", 100, 101, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := expired(tc.exp, tc.now); got != tc.want {
				t.Fatalf("expired(%d, %d) = %v, want %v", tc.exp, tc.now, got, tc.want)
			}
		})
	}
}
