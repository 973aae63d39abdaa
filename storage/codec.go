package storage

import (
	"encoding/binary"
	"fmt"
)

// On-disk value encoding. Every value stored in a namespace bucket starts
// with a one-byte header:
//
//	0x00 payload...                       plain value
//	0x01 <8-byte big-endian unix nanos> payload...   value that expires at that instant
//
// Every encoded value is at least one byte long, so an encoded empty payload
// is never confused with bbolt's nil value for nested buckets. Export shows
// payloads only, never headers.
const (
	hdrPlain  byte = 0x00
	hdrExpiry byte = 0x01

	expiryHeaderLen = 1 + 8
)

// encodeValue returns the on-disk form of payload. expiresAt is in Unix
// nanoseconds; 0 means "never expires".
func encodeValue(payload []byte, expiresAt int64) []byte {
	if expiresAt == 0 {
		out := make([]byte, 1+len(payload))
		out[0] = hdrPlain
		copy(out[1:], payload)
		return out
	}
	out := make([]byte, expiryHeaderLen+len(payload))
	out[0] = hdrExpiry
	binary.BigEndian.PutUint64(out[1:expiryHeaderLen], uint64(expiresAt))
	copy(out[expiryHeaderLen:], payload)
	return out
}

// decodeValue splits an on-disk value into its payload (aliasing raw, not a
// copy) and its expiry in Unix nanoseconds (0 if none).
func decodeValue(raw []byte) (payload []byte, expiresAt int64, err error) {
	if len(raw) == 0 {
		return nil, 0, errCorrupt("empty value")
	}
	switch raw[0] {
	case hdrPlain:
		return raw[1:], 0, nil
	case hdrExpiry:
		if len(raw) < expiryHeaderLen {
			return nil, 0, errCorrupt(fmt.Sprintf("expiry header truncated to %d bytes", len(raw)))
		}
		exp := int64(binary.BigEndian.Uint64(raw[1:expiryHeaderLen]))
		if exp == 0 {
			return nil, 0, errCorrupt("expiry header with zero time")
		}
		return raw[expiryHeaderLen:], exp, nil
	default:
		return nil, 0, errCorrupt(fmt.Sprintf("unknown header byte 0x%02x", raw[0]))
	}
}

// expired reports whether a value with the given expiry is expired at now
// (both Unix nanoseconds). A value is expired from its expiry instant on.
func expired(expiresAt, now int64) bool {
	return expiresAt != 0 && now >= expiresAt
}

type corruptError string

func (e corruptError) Error() string { return "storage: corrupt value: " + string(e) }

func errCorrupt(msg string) error { return corruptError(msg) }
