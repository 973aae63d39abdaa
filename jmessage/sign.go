package jmessage

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signature rules of spec §5.
const (
	// MinRandomStrLen and MaxRandomStrLen bound the length of random_str.
	MinRandomStrLen = 20
	MaxRandomStrLen = 36
	// SignatureValidity is how long a signature stays valid after its
	// timestamp ("签名，10分钟后失效").
	SignatureValidity = 10 * time.Minute
)

// AuthPayload is the c_init payload: the app's credentials signed with its
// master secret. The master secret itself never leaves the signer.
type AuthPayload struct {
	AppKey    string `json:"appkey"`
	RandomStr string `json:"random_str"`
	// Timestamp is the signing time in milliseconds, as decimal text. The
	// server accepts a JSON string or number and checks the exact text.
	Timestamp json.Number `json:"timestamp"`
	Signature string      `json:"signature"`
}

// Time returns the payload's timestamp as a time.Time.
func (p AuthPayload) Time() (time.Time, error) {
	ms, err := strconv.ParseInt(string(p.Timestamp), 10, 64)
	if err != nil {
		return time.Time{}, errors.New("jmessage: timestamp is not an integer of milliseconds")
	}
	return time.UnixMilli(ms), nil
}

// Signer builds c_init auth payloads for one app.
type Signer struct {
	AppKey       string
	MasterSecret string
	// Now is the clock used for timestamps; nil means time.Now.
	Now func() time.Time
}

// Sign returns a fresh auth payload: a random_str of 32 hex characters, the
// current time in milliseconds, and the signature over both.
func (s *Signer) Sign() AuthPayload {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	random := RandomString(32)
	ts := strconv.FormatInt(now().UnixMilli(), 10)
	return AuthPayload{
		AppKey:    s.AppKey,
		RandomStr: random,
		Timestamp: json.Number(ts),
		Signature: Signature(s.AppKey, ts, random, s.MasterSecret),
	}
}

// Signature computes the c_init signature of spec §5: the lowercase hex MD5
// of "appkey=A&timestamp=T&random_str=R&key=SECRET", with no URL-encoding.
// Servers compare it case-insensitively.
func Signature(appKey, timestamp, randomStr, masterSecret string) string {
	var b strings.Builder
	b.Grow(len(appKey) + len(timestamp) + len(randomStr) + len(masterSecret) + 40)
	b.WriteString("appkey=")
	b.WriteString(appKey)
	b.WriteString("&timestamp=")
	b.WriteString(timestamp)
	b.WriteString("&random_str=")
	b.WriteString(randomStr)
	b.WriteString("&key=")
	b.WriteString(masterSecret)
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// HashPassword returns the password digest the protocol sends in login and
// register: the lowercase hex MD5 of the plain password.
func HashPassword(password string) string {
	sum := md5.Sum([]byte(password))
	return hex.EncodeToString(sum[:])
}

// IsPasswordHash reports whether s already looks like an MD5 hex digest
// (32 hex characters, either case).
func IsPasswordHash(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// RandomString returns n random lowercase hex characters from crypto/rand.
func RandomString(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic("jmessage: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)[:n]
}
