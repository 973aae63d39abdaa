package webchat_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver/webchat"
	"github.com/jimbot/jimbot/jmessage/jmtest"
)

// get fetches url and returns the response with its body read.
func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, body
}

func TestPageServesAndSigns(t *testing.T) {
	srv := jmtest.Start(t)
	srv.AddUser(t, "alice")
	signer := &jmessage.Signer{AppKey: srv.AppKey, MasterSecret: srv.Secret}
	page := httptest.NewServer(webchat.Handler(webchat.Config{
		Sign:      signer.Sign, // AppKey left empty: taken from the signer
		Users:     []webchat.DemoUser{{Name: "alice", Password: jmtest.Password("alice")}},
		Groups:    []webchat.DemoGroup{{GID: 7, Name: "演示群"}},
		Bot:       "jimbot",
		TracesURL: "/admin/api/traces",
	}))
	t.Cleanup(page.Close)

	t.Run("auth", func(t *testing.T) {
		resp, body := get(t, page.URL+"/dev/auth")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/dev/auth: status %d: %s", resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("/dev/auth: Cache-Control %q, want no-store", cc)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("/dev/auth: Content-Type %q, want JSON", ct)
		}
		if strings.Contains(string(body), srv.Secret) {
			t.Fatalf("/dev/auth leaks the master secret: %s", body)
		}
		var p1, p2 jmessage.AuthPayload
		if err := json.Unmarshal(body, &p1); err != nil {
			t.Fatalf("/dev/auth: %v: %s", err, body)
		}
		_, body = get(t, page.URL+"/dev/auth")
		if err := json.Unmarshal(body, &p2); err != nil {
			t.Fatalf("/dev/auth: %v: %s", err, body)
		}
		if p1.AppKey != srv.AppKey || p1.Signature == "" || p1.RandomStr == p2.RandomStr {
			t.Fatalf("/dev/auth: want fresh payloads of app %s, got %+v then %+v", srv.AppKey, p1, p2)
		}

		// The real server accepts what /dev/auth signs: a client that takes
		// its c_init payloads from the page logs in.
		sign := func() jmessage.AuthPayload {
			var p jmessage.AuthPayload
			resp, err := http.Get(page.URL + "/dev/auth")
			if err != nil {
				t.Errorf("signer: %v", err)
				return p
			}
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Errorf("signer: %v", err)
			}
			return p
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c, err := jmessage.Dial(ctx, srv.URL, jmessage.WithSigner(sign),
			jmessage.WithLogin("alice", jmtest.Password("alice")),
			jmessage.WithLogger(jmtest.Logger(t)), jmessage.WithRequestTimeout(10*time.Second))
		if err != nil {
			t.Fatalf("dial with the page's signatures: %v", err)
		}
		defer c.Close()
		if c.Username() != "alice" {
			t.Fatalf("logged in as %q, want alice", c.Username())
		}
		if _, err := c.UserInfo(ctx, "alice"); err != nil {
			t.Fatalf("a request after login: %v", err)
		}
	})

	t.Run("config", func(t *testing.T) {
		resp, body := get(t, page.URL+"/dev/config")
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("/dev/config: status %d, Content-Type %q", resp.StatusCode, ct)
		}
		var pc webchat.PageConfig
		if err := json.Unmarshal(body, &pc); err != nil {
			t.Fatalf("/dev/config: %v: %s", err, body)
		}
		if pc.AppKey != srv.AppKey || pc.Bot != "jimbot" || pc.TracesURL != "/admin/api/traces" {
			t.Errorf("/dev/config: %s", body)
		}
		if len(pc.Users) != 1 || pc.Users[0] != (webchat.DemoUser{Name: "alice", Password: jmtest.Password("alice")}) {
			t.Errorf("/dev/config users: %+v", pc.Users)
		}
		if len(pc.Groups) != 1 || pc.Groups[0] != (webchat.DemoGroup{GID: 7, Name: "演示群"}) {
			t.Errorf("/dev/config groups: %+v", pc.Groups)
		}
		for _, key := range []string{`"appkey"`, `"users"`, `"groups"`, `"bot"`, `"tracesURL"`, `"gid"`, `"name"`, `"password"`} {
			if !strings.Contains(string(body), key) {
				t.Errorf("/dev/config lacks %s: %s", key, body)
			}
		}
	})

	t.Run("static", func(t *testing.T) {
		for _, tc := range []struct {
			path, contentType, contains string
		}{
			{"/", "text/html; charset=utf-8", `src="/static/app.js"`},
			{"/static/app.js", "text/javascript; charset=utf-8", "msg_recv"},
			{"/static/md5.js", "text/javascript; charset=utf-8", "function md5"},
			{"/static/style.css", "text/css; charset=utf-8", "font-family"},
			{"/static/socket.io-1.4.5.js", "text/javascript; charset=utf-8", "g.io = f()"},
			{"/static/socket.io-1.4.5.LICENSE", "text/plain; charset=utf-8", "MIT"},
		} {
			resp, body := get(t, page.URL+tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: status %d", tc.path, resp.StatusCode)
				continue
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.contentType)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no X-Content-Type-Options: nosniff", tc.path)
			}
		}
		resp, _ := get(t, page.URL+"/")
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("page CSP %q", csp)
		}
		for _, p := range []string{"/nope", "/static/nope.js", "/static/", "/static/../webchat.go", "/dev/"} {
			if resp, _ := get(t, page.URL+p); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
			}
		}
		resp, err := http.Post(page.URL+"/dev/auth", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /dev/auth: status %d, want 405", resp.StatusCode)
		}
	})
}

func TestAuthWithoutSigner(t *testing.T) {
	page := httptest.NewServer(webchat.Handler(webchat.Config{AppKey: "k"}))
	t.Cleanup(page.Close)
	resp, _ := get(t, page.URL+"/dev/auth")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/dev/auth without a signer: status %d, want 503", resp.StatusCode)
	}
	_, body := get(t, page.URL+"/dev/config")
	var pc webchat.PageConfig
	if err := json.Unmarshal(body, &pc); err != nil || pc.AppKey != "k" || pc.Users == nil || pc.Groups == nil {
		t.Fatalf("/dev/config: %s (%v)", body, err)
	}
}
