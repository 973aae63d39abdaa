package jmserver

import (
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jimbot/jimbot/jmessage"
)

// verifyInit checks a c_init payload as spec §5 describes: a known appkey,
// a random_str of 20–36 characters, a millisecond timestamp within ten
// minutes of the server's clock, the MD5 signature compared
// case-insensitively, and no reuse of a random_str inside the window.
func (s *Server) verifyInit(req *jmessage.CInitRequest) (*App, error) {
	if req.AppKey == "" || req.Signature == "" || req.RandomStr == "" || req.Timestamp == "" {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParameter, "c_init needs appkey, random_str, timestamp and signature")
	}
	app, ok := s.apps[req.AppKey]
	if !ok {
		return nil, jmessage.Errorf(jmessage.CodeAppKeyNotExist, "%s", req.AppKey)
	}
	if n := utf8.RuneCountInString(req.RandomStr); !s.opts.RelaxedRandomStr && (n < jmessage.MinRandomStrLen || n > jmessage.MaxRandomStrLen) {
		return nil, jmessage.Errorf(jmessage.CodeSignatureFail, "random_str has %d characters, want %d to %d", n, jmessage.MinRandomStrLen, jmessage.MaxRandomStrLen)
	}
	signed, err := req.AuthPayload.Time()
	if err != nil {
		return nil, jmessage.Errorf(jmessage.CodeInvalidParameter, "timestamp %q is not milliseconds", string(req.Timestamp))
	}
	now := s.now()
	if d := now.Sub(signed); d > jmessage.SignatureValidity || d < -jmessage.SignatureValidity {
		return nil, jmessage.Errorf(jmessage.CodeSignatureExpired, "timestamp is %s away from the server's clock (limit %s)", d.Round(time.Second), jmessage.SignatureValidity)
	}
	want := jmessage.Signature(app.Key, string(req.Timestamp), req.RandomStr, app.Secret)
	if !strings.EqualFold(want, req.Signature) {
		return nil, jmessage.Errorf(jmessage.CodeSignatureFail, "signature does not match")
	}
	if !s.auth.use(app.Key+"\x00"+req.RandomStr, signed.Add(jmessage.SignatureValidity), now) {
		return nil, jmessage.Errorf(jmessage.CodeSignatureFail, "random_str was already used (replay)")
	}
	return &app, nil
}

// replayCache remembers the random_str of every accepted signature until
// the signature expires, so a captured c_init cannot be replayed.
type replayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // key → expiry
}

// use records key until expiry and reports whether it was unused.
func (c *replayCache) use(key string, expiry, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false
	}
	c.seen[key] = expiry
	return true
}

func (c *replayCache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, exp := range c.seen {
		if !now.Before(exp) {
			delete(c.seen, k)
		}
	}
}

// sweepLoop drops expired entries every minute until stop is closed.
func (c *replayCache) sweepLoop(stop <-chan struct{}, now func() time.Time) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.sweep(now())
		}
	}
}

// validUsername applies the JMessage rule: 4–128 bytes of letters, digits,
// '_', '-', '.' and '@', starting with a letter or digit.
func validUsername(name string) bool {
	if len(name) < 4 || len(name) > 128 {
		return false
	}
	for i, r := range name {
		alnum := r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		if i == 0 && !alnum {
			return false
		}
		if !alnum && r != '_' && r != '-' && r != '.' && r != '@' {
			return false
		}
	}
	return true
}
