package jmserver

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// textPolling adapts go-socket.io's polling transport to the text framing
// of engine.io 1.x clients (socket.io-client 1.4.5 under node, and browsers
// without XHR2, where the v1 SDK falls back to polling).
//
// In that framing (engine.io-parser 1.2, "b64" mode) every packet is first
// UTF-8 encoded into a "binary string" (one character per byte) and the
// length prefix counts those characters; the HTTP body then carries that
// string encoded as UTF-8 once more. go-socket.io v1.7.0 reads and writes
// the payload as plain bytes, so any non-ASCII text breaks the framing
// (HTTP 400 one way, a client parser error the other). This shim undoes
// the outer encoding of text-mode POST bodies and applies it to text-mode
// GET responses; binary-mode polling (XHR2, the Go client) and websocket
// are untouched. It changes character encoding only, never the framing.
func textPolling(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") != "polling" || r.URL.Query().Get("j") != "" {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") && r.Body != nil {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxPollingBody+1))
			r.Body.Close()
			if err != nil {
				http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
				return
			}
			if len(body) > maxPollingBody {
				http.Error(w, "polling payload too large", http.StatusRequestEntityTooLarge)
				return
			}
			if dec, ok := fromBinaryString(body); ok {
				body = dec
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		if r.Method == http.MethodGet {
			w = &binaryStringWriter{ResponseWriter: w}
		}
		next.ServeHTTP(w, r)
	})
}

// maxPollingBody bounds a polling POST body read by the shim.
const maxPollingBody = 16 << 20

// fromBinaryString decodes UTF-8 text whose characters are all below 256
// into the bytes they stand for. It reports false for text that is not a
// binary string (invalid UTF-8, or a character above U+00FF), which is
// then passed on unchanged.
func fromBinaryString(b []byte) ([]byte, bool) {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return b, true
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 || r > 0xFF {
			return nil, false
		}
		out = append(out, byte(r))
		b = b[n:]
	}
	return out, true
}

// toBinaryString encodes each byte as the character of the same value, in
// UTF-8.
func toBinaryString(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c < utf8.RuneSelf {
			if out != nil {
				out = append(out, c)
			}
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(b)+len(b)/4+8), b[:i]...)
		}
		out = utf8.AppendRune(out, rune(c))
	}
	if out == nil {
		return b
	}
	return out
}

// binaryStringWriter applies toBinaryString to a text/plain response.
type binaryStringWriter struct {
	http.ResponseWriter
	decided, text bool
}

func (w *binaryStringWriter) decide() {
	if !w.decided {
		w.decided = true
		w.text = strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain")
		if w.text {
			w.Header().Del("Content-Length")
		}
	}
}

func (w *binaryStringWriter) WriteHeader(code int) {
	w.decide()
	w.ResponseWriter.WriteHeader(code)
}

func (w *binaryStringWriter) Write(p []byte) (int, error) {
	w.decide()
	if !w.text {
		return w.ResponseWriter.Write(p)
	}
	if _, err := w.ResponseWriter.Write(toBinaryString(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *binaryStringWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
