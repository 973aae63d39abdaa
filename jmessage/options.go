package jmessage

import (
	"log/slog"
	"math/rand/v2"
	"time"
)

// Option configures a Client.
type Option func(*options)

type options struct {
	appKey, secret     string
	signer             func() AuthPayload
	username, password string // password: md5 hex
	transport          Transport
	requestTimeout     time.Duration
	dialTimeout        time.Duration
	backoff            Backoff
	inboundBuffer      int
	logger             *slog.Logger
	onState            func(StateChange)
	now                func() time.Time
	uploadURL          string
	readLimit          int64
}

func defaultOptions() options {
	return options{
		transport:      WebSocket,
		requestTimeout: 30 * time.Second,
		dialTimeout:    10 * time.Second,
		backoff:        DefaultBackoff,
		inboundBuffer:  1024,
		logger:         slog.Default(),
		now:            time.Now,
		readLimit:      16 << 20,
	}
}

// WithAppKey sets the app and its master secret; the client signs every
// c_init itself, with a fresh random_str and timestamp.
func WithAppKey(appKey, masterSecret string) Option {
	return func(o *options) { o.appKey, o.secret = appKey, masterSecret }
}

// WithSigner makes the client take c_init payloads from sign instead of
// signing them itself, for deployments where a backend holds the master
// secret. sign is called before every (re)connect.
func WithSigner(sign func() AuthPayload) Option {
	return func(o *options) { o.signer = sign }
}

// WithLogin makes Dial log in as username after c_init, and log in again
// after every reconnect. The password is hashed with MD5 here; use
// WithLoginMD5 to pass a digest.
func WithLogin(username, password string) Option {
	return func(o *options) { o.username, o.password = username, HashPassword(password) }
}

// WithLoginMD5 is WithLogin with the password's MD5 hex digest.
func WithLoginMD5(username, passwordMD5 string) Option {
	return func(o *options) { o.username, o.password = username, passwordMD5 }
}

// WithTransport selects WebSocket (the default) or Polling.
func WithTransport(t Transport) Option { return func(o *options) { o.transport = t } }

// WithRequestTimeout bounds the wait for each response. Default: 30s, as
// in the SDK. A context deadline that comes first wins.
func WithRequestTimeout(d time.Duration) Option { return func(o *options) { o.requestTimeout = d } }

// WithDialTimeout bounds each connection attempt (handshake and open
// packet). Default: 10s.
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithBackoff sets the reconnect schedule. Default: DefaultBackoff.
func WithBackoff(b Backoff) Option { return func(o *options) { o.backoff = b } }

// WithInboundBuffer sets how many pushed items may wait for the consumer.
// When the buffer is full, further items are not taken: the server sends
// them again later, so nothing is lost. Default: 1024.
func WithInboundBuffer(n int) Option { return func(o *options) { o.inboundBuffer = n } }

// WithLogger sets the client's logger. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithStateFunc registers fn to be told of connection state changes. fn
// runs on the client's own goroutine and must not block.
func WithStateFunc(fn func(StateChange)) Option { return func(o *options) { o.onState = fn } }

// WithClock sets the clock used for signatures and message times.
// Default: time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithUploadURL sets the media upload endpoint. Default: the server URL
// with path /resource (a jimbot server); for the public service use
// "https://sdk.im.jiguang.cn/resource".
func WithUploadURL(u string) Option { return func(o *options) { o.uploadURL = u } }

// Backoff is a reconnect schedule: exponential from Min to Max with full
// jitter, for at most MaxAttempts attempts in a row (0: no limit).
type Backoff struct {
	Min         time.Duration
	Max         time.Duration
	Factor      float64
	Jitter      float64 // fraction of each delay that is random, 0..1
	MaxAttempts int
}

// DefaultBackoff retries after 0.5s, 1s, 2s … up to 30s, each delay
// randomised by ±50%, without limit.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, Factor: 2, Jitter: 0.5}

// Delay returns the wait before attempt n (0-based).
func (b Backoff) Delay(n int) time.Duration {
	d := float64(b.Min)
	f := b.Factor
	if f < 1 {
		f = 1
	}
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= f
	}
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	j := b.Jitter
	if j > 1 {
		j = 1
	}
	if j > 0 {
		d = d*(1-j/2) + rand.Float64()*d*j
	}
	return time.Duration(d)
}
