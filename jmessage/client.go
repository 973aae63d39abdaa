package jmessage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/googollee/go-socket.io/engineio"
	"github.com/googollee/go-socket.io/engineio/frame"
	"github.com/googollee/go-socket.io/engineio/packet"
	"github.com/googollee/go-socket.io/engineio/transport"
	"github.com/googollee/go-socket.io/parser"
)

// State is where a client's connection stands.
type State int

// Client states. Kicked, PasswordChanged and Closed are final.
const (
	StateConnecting      State = iota // dialling for the first time
	StateConnected                    // c_init and login done
	StateReconnecting                 // the connection was lost; retrying
	StateKicked                       // the user logged in elsewhere (event 1)
	StatePasswordChanged              // the password changed (event 2)
	StateClosed                       // Close was called, or reconnecting gave up
)

var stateNames = [...]string{"connecting", "connected", "reconnecting", "kicked", "password_changed", "closed"}

// String returns the state's name, e.g. "reconnecting".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// StateChange reports a transition of the connection.
type StateChange struct {
	State State
	// Err is why the connection was lost (StateReconnecting), why the last
	// attempt failed, or why the client stopped.
	Err error
	// Attempt counts reconnect attempts since the connection was lost.
	Attempt int
	// Delay is the wait before the next attempt (StateReconnecting).
	Delay time.Duration
	// Reconnected is true for StateConnected after a lost connection.
	Reconnected bool
}

// Client is a JMessage Web SDK v1 client: one socket.io connection that
// logs in, answers pushes and reconnects by itself. All methods are safe
// for concurrent use. Create it with Dial; stop it with Close.
type Client struct {
	url  string
	opts options
	rid  atomic.Int64

	mu       sync.Mutex
	wire     *wire
	ready    chan struct{} // closed while wire != nil
	state    State
	username string
	password string
	err      error

	inbound  chan *Inbound
	inflight sync.Map // inboundKey → struct{}: handed to the consumer, not yet acked
	dropped  atomic.Int64

	life    context.Context // cancelled by Close
	cancel  context.CancelFunc
	stopped chan struct{} // closed when the client has stopped for good
}

// Dial connects to a JMessage (or jimbot) server, sends c_init and, when
// WithLogin is given, logs in. serverURL is the server's base, e.g.
// "ws://127.0.0.1:9090" or "wss://ws.im.jpush.cn"; the socket.io path is
// added. The returned client reconnects on its own until Close, or until
// the server kicks it or reports a password change.
func Dial(ctx context.Context, serverURL string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if o.signer == nil {
		if o.appKey == "" || o.secret == "" {
			return nil, errors.New("jmessage: Dial needs WithAppKey(appkey, master secret) or WithSigner")
		}
		s := &Signer{AppKey: o.appKey, MasterSecret: o.secret, Now: o.now}
		o.signer = s.Sign
	}
	u, err := socketURL(serverURL)
	if err != nil {
		return nil, err
	}
	if o.uploadURL == "" {
		o.uploadURL = uploadURLFor(u)
	}
	life, cancel := context.WithCancel(context.Background())
	c := &Client{
		url: u, opts: o,
		ready:    make(chan struct{}),
		username: o.username, password: o.password,
		inbound: make(chan *Inbound, o.inboundBuffer),
		life:    life, cancel: cancel,
		stopped: make(chan struct{}),
	}
	c.notify(StateChange{State: StateConnecting})
	w, err := c.connect(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	c.setWire(w)
	c.notify(StateChange{State: StateConnected})
	go c.supervise(w)
	return c, nil
}

// socketURL turns a server base URL into the socket.io endpoint. The
// trailing slash matters (spec §12.4).
func socketURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("jmessage: server URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("jmessage: server URL %q: scheme must be ws, wss, http or https", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/socket.io/"
	} else if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

func uploadURLFor(socket string) string {
	u, _ := url.Parse(socket)
	u.Path, u.RawQuery = "/resource", ""
	return u.String()
}

// Inbound returns the channel of pushed messages and events. Each item
// must be acknowledged with Ack once it has been processed (and
// persisted): the server sends it again until then. The channel is closed
// when the client stops.
func (c *Client) Inbound() <-chan *Inbound { return c.inbound }

// Done is closed when the client has stopped for good: after Close, a
// kick, a password change, or when reconnecting gave up.
func (c *Client) Done() <-chan struct{} { return c.stopped }

// Err returns why the client stopped: ErrClosed, ErrKicked,
// ErrPasswordChanged or the last connection error. It is nil while the
// client runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// State returns the connection's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Username returns the logged-in username, or "".
func (c *Client) Username() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.username
}

// AppKey returns the app the client signs in to.
func (c *Client) AppKey() string { return c.opts.signer().AppKey }

// Dropped returns how many pushed items were not taken because the
// inbound buffer was full (the server delivers them again).
func (c *Client) Dropped() int64 { return c.dropped.Load() }

// Close logs off cleanly: it sends the socket.io disconnect and engine.io
// close packets and a websocket close frame, then waits for the client's
// goroutines. Unacknowledged items stay with the server.
func (c *Client) Close() error {
	c.cancel()
	<-c.stopped
	return nil
}

func (c *Client) notify(sc StateChange) {
	c.mu.Lock()
	c.state = sc.State
	c.mu.Unlock()
	if c.opts.onState != nil {
		c.opts.onState(sc)
	}
}

func (c *Client) setWire(w *wire) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wire = w
	if w != nil {
		close(c.ready)
	} else {
		c.ready = make(chan struct{})
	}
}

// current returns the live connection, waiting for a reconnect if needed.
func (c *Client) current(ctx context.Context) (*wire, error) {
	for {
		c.mu.Lock()
		w, ready, err := c.wire, c.ready, c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if w != nil {
			return w, nil
		}
		select {
		case <-ready:
		case <-c.stopped:
		case <-ctx.Done():
			return nil, fmt.Errorf("jmessage: waiting for the connection: %w", ctx.Err())
		}
	}
}

func (c *Client) nextRID() int64 { return c.rid.Add(1) }

// call sends a request and decodes its response into out, whose embedded
// Status decides success. payload must carry rid (see request builders).
func (c *Client) call(ctx context.Context, event string, payload func(rid int64) any, out response) error {
	w, err := c.current(ctx)
	if err != nil {
		return err
	}
	return w.call(ctx, event, payload, out)
}

// response is any response type.
type response interface{ ResponseStatus() *Status }

// supervise watches the live connection and replaces it when it is lost.
func (c *Client) supervise(w *wire) {
	for {
		select {
		case <-w.done:
		case <-c.life.Done():
			w.closeCleanly()
			<-w.done
			c.finish(StateClosed, ErrClosed)
			return
		}
		cause := w.cause()
		c.setWire(nil)
		switch {
		case errors.Is(cause, ErrKicked):
			c.finish(StateKicked, ErrKicked)
			return
		case errors.Is(cause, ErrPasswordChanged):
			c.finish(StatePasswordChanged, ErrPasswordChanged)
			return
		}
		c.opts.logger.Warn("jmessage: connection lost, reconnecting", "url", c.url, "err", cause)
		nw, err := c.reconnect(cause)
		if err != nil {
			if errors.Is(err, context.Canceled) && c.life.Err() != nil {
				err = ErrClosed
			}
			c.finish(StateClosed, err)
			return
		}
		w = nw
		c.setWire(w)
		c.notify(StateChange{State: StateConnected, Reconnected: true})
		c.opts.logger.Info("jmessage: reconnected", "url", c.url, "user", c.Username())
	}
}

// reconnect dials until it succeeds, the backoff gives up, the error is
// one that retrying cannot fix (bad appkey, signature or password), or
// Close is called.
func (c *Client) reconnect(cause error) (*wire, error) {
	b := c.opts.backoff
	last := cause
	for attempt := 0; ; attempt++ {
		if b.MaxAttempts > 0 && attempt >= b.MaxAttempts {
			return nil, fmt.Errorf("jmessage: gave up reconnecting after %d attempts: %w", attempt, last)
		}
		delay := b.Delay(attempt)
		c.notify(StateChange{State: StateReconnecting, Err: last, Attempt: attempt + 1, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-c.life.Done():
			t.Stop()
			return nil, ErrClosed
		}
		w, err := c.connect(c.life)
		if err == nil {
			return w, nil
		}
		if permanent(err) {
			return nil, err
		}
		last = err
	}
}

// permanent reports errors that a reconnect cannot fix.
func permanent(err error) bool {
	for _, e := range []error{ErrAppKeyNotExist, ErrSignatureFail, ErrUserNotExist, ErrInvalidPassword, ErrUserDisabled, ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (c *Client) finish(s State, err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.notify(StateChange{State: s, Err: err})
	c.cancel()
	close(c.inbound)
	close(c.stopped)
}

// connect dials, waits for the socket.io connect packet, sends c_init with
// a fresh signature and logs in with the stored credentials.
func (c *Client) connect(ctx context.Context) (*wire, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.dialTimeout+c.opts.requestTimeout)
	defer cancel()
	w, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	auth := c.opts.signer()
	err = w.call(ctx, EventCInit, func(rid int64) any { return CInitRequest{AuthPayload: auth, RID: rid} }, &Status{})
	if err != nil {
		w.closeCleanly()
		return nil, fmt.Errorf("jmessage: c_init: %w", err)
	}
	c.mu.Lock()
	user, pw := c.username, c.password
	c.mu.Unlock()
	if user != "" {
		if err := w.login(ctx, user, pw); err != nil {
			w.closeCleanly()
			return nil, err
		}
	}
	return w, nil
}

// dial opens the engine.io session and waits for the socket.io connect
// packet of the default namespace.
func (c *Client) dial(ctx context.Context) (*wire, error) {
	var t transport.Transport
	if c.opts.transport == Polling {
		t = newPolling(c.opts.dialTimeout + c.opts.requestTimeout)
	} else {
		t = &wsTransport{handshakeTimeout: c.opts.dialTimeout, readLimit: c.opts.readLimit}
	}
	cap := &capture{Transport: t}
	type result struct {
		conn engineio.Conn
		err  error
	}
	res := make(chan result, 1)
	go func() {
		conn, err := (&engineio.Dialer{Transports: []transport.Transport{cap}}).Dial(c.url, nil)
		res <- result{conn, err}
	}()
	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		// The dial goroutine ends by itself within the dial timeout; close
		// what it produces.
		go func() {
			if r := <-res; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, fmt.Errorf("jmessage: dial %s: %w", c.url, ctx.Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("jmessage: dial %s over %s: %w", c.url, c.opts.transport, r.err)
	}
	w := newWire(c, r.conn, cap.conn)
	go w.readLoop()
	select {
	case <-w.connected:
		return w, nil
	case <-w.done:
		return nil, fmt.Errorf("jmessage: connect %s: %w", c.url, w.cause())
	case <-ctx.Done():
		w.closeCleanly()
		return nil, fmt.Errorf("jmessage: connect %s: no socket.io connect packet: %w", c.url, ctx.Err())
	}
}

// wire is one socket.io connection: an engine.io session, the socket.io
// encoder (shared under encMu) and decoder (owned by readLoop), and the
// requests waiting for their responses.
type wire struct {
	c     *Client
	eio   engineio.Conn
	tconn transport.Conn
	enc   *parser.Encoder
	encMu sync.Mutex
	dec   *parser.Decoder

	mu        sync.Mutex
	pending   map[int64]*call
	err       error
	connected chan struct{}
	done      chan struct{}
	closing   atomic.Bool
	doneOnce  sync.Once
}

type call struct {
	event string
	acked atomic.Bool
	resp  chan []byte
}

func newWire(c *Client, eio engineio.Conn, tconn transport.Conn) *wire {
	return &wire{
		c: c, eio: eio, tconn: tconn,
		enc:       parser.NewEncoder(eio),
		dec:       parser.NewDecoder(eio),
		pending:   map[int64]*call{},
		connected: make(chan struct{}),
		done:      make(chan struct{}),
	}
}

// alive reports whether the connection is still open.
func (w *wire) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return !w.closing.Load()
	}
}

func (w *wire) cause() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// fail records why the wire ended (the first reason wins) and closes it.
func (w *wire) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.eio.Close()
}

// closeCleanly says goodbye the way socket.io-client does: the socket.io
// disconnect packet, the engine.io close packet, then (in the transport)
// a websocket close frame.
func (w *wire) closeCleanly() {
	if !w.closing.CompareAndSwap(false, true) {
		return
	}
	w.encMu.Lock()
	_ = w.enc.Encode(parser.Header{Type: parser.Disconnect})
	w.encMu.Unlock()
	if w.tconn != nil {
		if wr, err := w.tconn.NextWriter(frame.String, packet.CLOSE); err == nil {
			_ = wr.Close()
		}
	}
	w.fail(ErrClosed)
}

var rawArgTypes = []reflect.Type{reflect.TypeOf(RawJSON(""))}

// readLoop decodes frames until the connection ends; it alone uses the
// decoder. Responses go to their waiting calls, pushes to the client.
func (w *wire) readLoop() {
	var err error
	defer func() {
		w.fail(err)
		w.mu.Lock()
		for rid, cl := range w.pending {
			delete(w.pending, rid)
			close(cl.resp)
		}
		w.mu.Unlock()
		w.doneOnce.Do(func() { close(w.done) })
	}()
	var connectedOnce sync.Once
	for {
		var h parser.Header
		var event string
		if err = w.dec.DecodeHeader(&h, &event); err != nil {
			if w.closing.Load() {
				err = ErrClosed
			}
			return
		}
		switch h.Type {
		case parser.Connect:
			_ = w.dec.DiscardLast()
			connectedOnce.Do(func() { close(w.connected) })
		case parser.Disconnect:
			_ = w.dec.DiscardLast()
			err = errors.New("jmessage: server closed the socket.io session")
			return
		case parser.Event:
			args, derr := w.dec.DecodeArgs(rawArgTypes)
			if derr != nil {
				err = fmt.Errorf("jmessage: malformed %q frame from server: %w", event, derr)
				return
			}
			raw, _ := args[0].Interface().(RawJSON)
			if stop := w.handle(event, []byte(raw)); stop != nil {
				err = stop
				return
			}
		default:
			_ = w.dec.DiscardLast()
		}
	}
}

// handle routes one server event. A non-nil result ends the connection
// (kick, password change).
func (w *wire) handle(event string, raw []byte) error {
	switch event {
	case EventAck:
		var a struct {
			RID ID `json:"rid"`
		}
		if json.Unmarshal(raw, &a) == nil {
			w.mu.Lock()
			if cl := w.pending[int64(a.RID)]; cl != nil {
				cl.acked.Store(true)
			}
			w.mu.Unlock()
		}
	case EventMsgSync:
		var m MsgSync
		if err := json.Unmarshal(raw, &m); err != nil {
			w.c.opts.logger.Warn("jmessage: malformed msg_sync ignored (the server will send it again)", "err", err)
			return nil
		}
		for i := range m.Messages {
			w.c.offer(newInboundMessage(w, m.UID, m.Messages[i]))
		}
	case EventEventNotification:
		var ev EventNotification
		if err := json.Unmarshal(raw, &ev); err != nil {
			w.c.opts.logger.Warn("jmessage: malformed event_notification ignored", "err", err)
			return nil
		}
		switch ev.EventType {
		case EventTypeKicked, EventTypePasswordChanged:
			_ = w.emit(EventEventNotification, EventEcho{EventID: ev.EventID, EventType: ev.EventType,
				FromUID: ev.FromUID, GID: ev.GID, RID: w.c.nextRID()})
			if ev.EventType == EventTypeKicked {
				return ErrKicked
			}
			return ErrPasswordChanged
		}
		w.c.offer(&Inbound{Event: &ev, key: inboundKey{kind: 'e', id: int64(ev.EventID)}, c: w.c, w: w})
	default:
		var st struct {
			RID ID `json:"rid"`
		}
		if json.Unmarshal(raw, &st) != nil {
			return nil
		}
		w.mu.Lock()
		cl := w.pending[int64(st.RID)]
		if cl != nil && cl.event == event {
			delete(w.pending, int64(st.RID))
		} else {
			cl = nil
		}
		w.mu.Unlock()
		if cl != nil {
			cl.resp <- raw
		}
	}
	return nil
}

// emit writes one event frame.
func (w *wire) emit(event string, payload any) error {
	w.encMu.Lock()
	defer w.encMu.Unlock()
	select {
	case <-w.done:
		return ErrConnectionLost
	default:
	}
	if err := w.enc.Encode(parser.Header{Type: parser.Event}, []any{event, payload}); err != nil {
		return fmt.Errorf("jmessage: send %s: %w", event, err)
	}
	return nil
}

// call sends a request and waits for the response with the same rid.
func (w *wire) call(ctx context.Context, event string, payload func(rid int64) any, out response) error {
	rid := w.c.nextRID()
	cl := &call{event: event, resp: make(chan []byte, 1)}
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return ErrConnectionLost
	}
	w.pending[rid] = cl
	w.mu.Unlock()
	forget := func() {
		w.mu.Lock()
		delete(w.pending, rid)
		w.mu.Unlock()
	}
	if err := w.emit(event, payload(rid)); err != nil {
		forget()
		return err
	}
	timer := time.NewTimer(w.c.opts.requestTimeout)
	defer timer.Stop()
	select {
	case raw, ok := <-cl.resp:
		if !ok {
			return fmt.Errorf("%s: %w", event, ErrConnectionLost)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("jmessage: decode %s response: %w", event, err)
		}
		return out.ResponseStatus().Err()
	case <-timer.C:
		forget()
		acked := "no ack"
		if cl.acked.Load() {
			acked = "acked, no response"
		}
		return fmt.Errorf("%w: %s after %s (%s): %w", ErrRequestTimeout, event, w.c.opts.requestTimeout, acked, context.DeadlineExceeded)
	case <-ctx.Done():
		forget()
		return fmt.Errorf("jmessage: %s: %w", event, ctx.Err())
	}
}

func (w *wire) login(ctx context.Context, username, passwordMD5 string) error {
	var resp LoginResponse
	err := w.call(ctx, EventLogin, func(rid int64) any {
		return LoginRequest{Header: Header{RID: rid}, Username: username, Password: passwordMD5}
	}, &resp)
	if err != nil {
		return fmt.Errorf("jmessage: login %s: %w", username, err)
	}
	if resp.Username == "" {
		return fmt.Errorf("jmessage: login %s: the response has no username", username)
	}
	return nil
}
