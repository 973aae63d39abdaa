package jmessage

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/googollee/go-socket.io/engineio/frame"
	"github.com/googollee/go-socket.io/engineio/packet"
	"github.com/googollee/go-socket.io/engineio/transport"
	"github.com/googollee/go-socket.io/engineio/transport/polling"
	"github.com/gorilla/websocket"
)

// Transport selects how the client reaches the server.
type Transport int

const (
	// WebSocket is the default, as in the v1 SDK when the browser has
	// WebSocket.
	WebSocket Transport = iota
	// Polling is engine.io long-polling over HTTP.
	Polling
)

// String returns "websocket" or "polling".
func (t Transport) String() string {
	if t == Polling {
		return "polling"
	}
	return "websocket"
}

// wsTransport is an engine.io websocket transport for the engineio Dialer.
// It reuses go-socket.io's engine.io packet encoder and decoder and differs
// from its websocket.Transport in three ways the client needs: Close sends
// a websocket close frame (1000), so servers see a normal closure instead
// of 1006; the read deadline covers the time before the first pong; and no
// helper goroutine is started per frame.
type wsTransport struct {
	handshakeTimeout time.Duration
	readLimit        int64
}

func (t *wsTransport) Name() string { return "websocket" }

func (t *wsTransport) Accept(http.ResponseWriter, *http.Request) (transport.Conn, error) {
	return nil, errors.New("jmessage: the client transport does not accept connections")
}

func (t *wsTransport) Dial(u *url.URL, header http.Header) (transport.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: t.handshakeTimeout, Proxy: http.ProxyFromEnvironment}
	wsURL := *u
	switch wsURL.Scheme {
	case "http":
		wsURL.Scheme = "ws"
	case "https":
		wsURL.Scheme = "wss"
	}
	q := wsURL.Query()
	q.Set("transport", "websocket")
	wsURL.RawQuery = q.Encode()
	ws, resp, err := d.Dial(wsURL.String(), header)
	if err != nil {
		if resp != nil {
			return nil, &DialError{URL: wsURL.String(), Status: resp.StatusCode, Err: err}
		}
		return nil, &DialError{URL: wsURL.String(), Err: err}
	}
	ws.SetReadLimit(t.readLimit)
	// Until the open packet names the heartbeat, bound the wait by the
	// handshake timeout.
	_ = ws.SetReadDeadline(time.Now().Add(t.handshakeTimeout))
	fc := &wsFrames{ws: ws}
	c := &wsConn{frames: fc, url: wsURL, header: resp.Header}
	c.dec = packet.NewDecoder(fc)
	c.enc = packet.NewEncoder(fc)
	return c, nil
}

// DialError reports a failed connection attempt.
type DialError struct {
	URL    string
	Status int // HTTP status of a refused handshake, 0 if none
	Err    error
}

func (e *DialError) Error() string {
	if e.Status != 0 {
		return "jmessage: dial " + e.URL + ": HTTP " + http.StatusText(e.Status) + ": " + e.Err.Error()
	}
	return "jmessage: dial " + e.URL + ": " + e.Err.Error()
}

func (e *DialError) Unwrap() error { return e.Err }

// wsFrames adapts a gorilla connection to engine.io frames. Readers are
// used by one goroutine at a time (the engineio client); writers are
// serialised by mu, held from NextWriter until the writer is closed.
type wsFrames struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (f *wsFrames) NextReader() (frame.Type, io.ReadCloser, error) {
	for {
		typ, r, err := f.ws.NextReader()
		if err != nil {
			return 0, nil, err
		}
		switch typ {
		case websocket.TextMessage:
			return frame.String, io.NopCloser(r), nil
		case websocket.BinaryMessage:
			return frame.Binary, io.NopCloser(r), nil
		}
	}
}

func (f *wsFrames) NextWriter(ft frame.Type) (io.WriteCloser, error) {
	mt := websocket.TextMessage
	if ft == frame.Binary {
		mt = websocket.BinaryMessage
	}
	f.mu.Lock()
	w, err := f.ws.NextWriter(mt)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	return &lockedWriter{WriteCloser: w, mu: &f.mu}, nil
}

type lockedWriter struct {
	io.WriteCloser
	mu   *sync.Mutex
	once sync.Once
}

func (w *lockedWriter) Close() error {
	err := w.WriteCloser.Close()
	w.once.Do(w.mu.Unlock)
	return err
}

// wsConn is a transport.Conn over wsFrames. It also implements the engineio
// Opener so that it learns the heartbeat from the open packet and sets the
// first read deadline from it.
type wsConn struct {
	frames *wsFrames
	dec    *packet.Decoder
	enc    *packet.Encoder
	url    url.URL
	header http.Header
	once   sync.Once
}

func (c *wsConn) NextReader() (frame.Type, packet.Type, io.ReadCloser, error) {
	return c.dec.NextReader()
}

func (c *wsConn) NextWriter(ft frame.Type, pt packet.Type) (io.WriteCloser, error) {
	return c.enc.NextWriter(ft, pt)
}

// Open reads the engine.io open packet (the engineio Dialer calls it).
func (c *wsConn) Open() (transport.ConnParameters, error) {
	_, pt, r, err := c.NextReader()
	if err != nil {
		return transport.ConnParameters{}, err
	}
	defer r.Close()
	if pt != packet.OPEN {
		return transport.ConnParameters{}, errors.New("jmessage: server did not open the engine.io session")
	}
	params, err := transport.ReadConnParameters(r)
	if err != nil {
		return params, err
	}
	// The engineio client extends the deadline on every pong; this covers
	// the time until the first one.
	_ = c.frames.ws.SetReadDeadline(time.Now().Add(params.PingInterval + params.PingTimeout))
	return params, nil
}

func (c *wsConn) URL() url.URL              { return c.url }
func (c *wsConn) LocalAddr() net.Addr       { return c.frames.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr      { return c.frames.ws.RemoteAddr() }
func (c *wsConn) RemoteHeader() http.Header { return c.header }

func (c *wsConn) SetReadDeadline(t time.Time) error { return c.frames.ws.SetReadDeadline(t) }

func (c *wsConn) SetWriteDeadline(t time.Time) error {
	c.frames.mu.Lock()
	defer c.frames.mu.Unlock()
	return c.frames.ws.SetWriteDeadline(t)
}

// Close sends a websocket close frame (normal closure) and closes the
// socket.
func (c *wsConn) Close() error {
	var err error
	c.once.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.frames.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		err = c.frames.ws.Close()
	})
	return err
}

// capture wraps a transport so that the client keeps the transport.Conn the
// engineio Dialer made; with it the client can send the engine.io close
// packet that a clean shutdown needs. The wrapped connection is returned
// as is, so the Dialer still sees its Opener.
type capture struct {
	transport.Transport
	conn transport.Conn
}

func (c *capture) Dial(u *url.URL, h http.Header) (transport.Conn, error) {
	conn, err := c.Transport.Dial(u, h)
	if err == nil {
		c.conn = conn
	}
	return conn, err
}

func newPolling(timeout time.Duration) transport.Transport {
	return &polling.Transport{Client: &http.Client{Timeout: timeout}}
}
