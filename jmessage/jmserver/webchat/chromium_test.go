package webchat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver/webchat"
	"github.com/jimbot/jimbot/jmessage/jmtest"
	"github.com/jimbot/jimbot/plugins/help"
	"github.com/jimbot/jimbot/plugins/ping"
)

const botName = "jimbot"

// findChromium returns the Chromium binary; the test cannot run without it.
func findChromium(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is needed: run ./test.sh, which installs it (apt-get install chromium)")
	return ""
}

// devEnv is what `jimbot dev` runs: a server with demo users and a demo
// group, a bot with the ping and help plugins, and one HTTP server with
// the page, socket.io, media and the bot's admin API.
type devEnv struct {
	srv   *jmtest.Server
	http  *httptest.Server
	conns *connTracker
	gid   int64
}

func startDevEnv(t *testing.T, ctx context.Context) *devEnv {
	t.Helper()
	srv := jmtest.Start(t)
	for _, name := range []string{botName, "alice", "bobby"} {
		srv.AddUser(t, name)
	}
	gid, err := srv.CreateGroup(srv.AppKey, botName, "jimbot 演示群", "demo group", "alice", "bobby")
	if err != nil {
		t.Fatalf("create the demo group: %v", err)
	}

	// The bot dials the server directly, so that dropping the browser's
	// connections (below) leaves it alone.
	tr, err := bot.DialJMessage(ctx, srv.URL, jmtest.Logger(t),
		jmessage.WithAppKey(srv.AppKey, srv.Secret),
		jmessage.WithLogin(botName, jmtest.Password(botName)),
		jmessage.WithLogger(jmtest.Logger(t)))
	if err != nil {
		t.Fatalf("connect the bot: %v", err)
	}
	b, err := bot.New(bot.Options{Transport: tr, Logger: jmtest.Logger(t), Send: bot.SendOptions{RatePerMinute: -1}})
	if err != nil {
		t.Fatalf("new bot: %v", err)
	}
	for _, p := range []bot.Plugin{&ping.Plugin{}, &help.Plugin{}} {
		if err := b.AddPlugin(p, nil); err != nil {
			t.Fatalf("add plugin: %v", err)
		}
	}
	if err := b.Start(ctx); err != nil {
		t.Fatalf("start the bot: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.Stop(sctx)
		tr.Close()
	})

	signer := &jmessage.Signer{AppKey: srv.AppKey, MasterSecret: srv.Secret}
	mux := http.NewServeMux()
	mux.Handle("/", webchat.Handler(webchat.Config{
		AppKey: srv.AppKey,
		Sign:   signer.Sign,
		Users: []webchat.DemoUser{
			{Name: "alice", Password: jmtest.Password("alice")},
			{Name: "bobby", Password: jmtest.Password("bobby")},
		},
		Groups:    []webchat.DemoGroup{{GID: gid, Name: "jimbot 演示群"}},
		Bot:       botName,
		TracesURL: "/admin/api/traces",
	}))
	mux.Handle("/socket.io/", srv.Handler())
	mux.Handle("/resource", srv.Handler())
	mux.Handle("/media/", srv.Handler())
	mux.Handle("/admin/", http.StripPrefix("/admin", b.AdminHandler()))
	hs := httptest.NewUnstartedServer(mux)
	conns := &connTracker{Listener: hs.Listener, conns: map[net.Conn]bool{}}
	hs.Listener = conns
	hs.Start()
	t.Cleanup(func() {
		conns.dropAll()
		hs.Close()
	})
	return &devEnv{srv: srv, http: hs, conns: conns, gid: gid}
}

// connTracker is a listener that can drop every connection it accepted,
// websockets included (httptest forgets hijacked connections).
type connTracker struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func (l *connTracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns[c] = true
		l.mu.Unlock()
	}
	return c, err
}

// dropAll closes every accepted connection, like a network failure.
func (l *connTracker) dropAll() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.conns)
	for c := range l.conns {
		c.Close()
		delete(l.conns, c)
	}
	return n
}

// console collects what the page logs, to show when the test fails.
type console struct {
	mu    sync.Mutex
	lines []string
}

func (c *console) listen(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			if a.Description != "" {
				args = append(args, a.Description)
			} else {
				args = append(args, string(a.Value))
			}
		}
		line = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		line = "exception: " + d.Text
		if d.Exception != nil {
			line += " " + d.Exception.Description
		}
	default:
		return
	}
	c.mu.Lock()
	c.lines = append(c.lines, line)
	c.mu.Unlock()
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) == 0 {
		return "(nothing)"
	}
	return strings.Join(c.lines, "\n")
}

func TestChatWithBotInChromium(t *testing.T) {
	chromium := findChromium(t)
	userData := t.TempDir() // removed after the browser has exited (defers run first)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := startDevEnv(t, ctx)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(1280, 800),
	)
	defer cancelAlloc()
	var logs console
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(logs.listen))
	defer func() {
		// Close the browser gracefully, and wait for it to exit, before
		// t.TempDir removes its profile.
		_ = chromedp.Cancel(tab)
		cancelTab()
		cancelAlloc()
	}()

	// Start the browser on the tab's own context: a step's timeout must
	// not end it.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	// step runs actions with a timeout of their own, so that the page can
	// still be read when they fail.
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 15*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("timed out: %w", err)
			}
			rctx, rcancel := context.WithTimeout(tab, 2*time.Second)
			defer rcancel()
			text, _ := chromedp.Run(rctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
			t.Fatalf("%s: %v\n--- page text:\n%s\n--- page console:\n%s", what, err, text, &logs)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	// waitJS polls a JavaScript condition until it holds.
	waitJS := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			for {
				ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
				if err != nil {
					return err
				}
				if ok {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	count := func(sel string) string {
		return fmt.Sprintf("document.querySelectorAll(%q).length", sel)
	}
	send := func(text string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.WaitEnabled(css("#composer")),
			chromedp.SendKeys(css("#composer"), text),
			chromedp.Click(css("#send")),
		)
	}
	group := fmt.Sprintf("group:%d", env.gid)
	pong := `#messages [data-from="jimbot"][data-text="pong"]`

	step("open the page and log in as alice",
		chromedp.Navigate(env.http.URL+"/"),
		chromedp.WaitVisible(css(`#status[data-ready="true"]`), chromedp.NodeReady),
		chromedp.SetValue(css("#login-user"), "alice"),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css(`#status[data-state="online"]`)),
		chromedp.WaitVisible(css("#chat-panel")),
	)

	step("ping the bot in the demo group",
		chromedp.Click(css(fmt.Sprintf(`#conversations [data-conv=%q]`, group))),
		chromedp.WaitVisible(css(fmt.Sprintf(`#messages[data-conv=%q]`, group)), chromedp.NodeReady),
		send("/ping"),
		chromedp.WaitVisible(css(`#messages [data-from="alice"][data-text="/ping"][data-state="sent"]`)),
		chromedp.WaitVisible(css(pong)),
	)

	step("ask the bot for help in the group",
		send("/help"),
		chromedp.WaitVisible(css(`#messages [data-from="jimbot"][data-text^="Commands:"][data-text*="/ping"]`)),
	)

	step("ping the bot one to one",
		chromedp.Click(css(`#conversations [data-conv="user:jimbot"]`)),
		chromedp.WaitVisible(css(`#messages[data-conv="user:jimbot"]`), chromedp.NodeReady),
		// History is per conversation: the group's pong is not shown here.
		waitJS(count(pong)+" === 0"),
		send("/ping"),
		chromedp.WaitVisible(css(pong)),
	)

	step("the inspector shows the ping command matched",
		chromedp.WaitVisible(css(`#inspector`)),
		chromedp.WaitVisible(css(`#traces [data-matched="true"] [data-plugin="ping"][data-handler="command /ping"][data-outcome="matched"]`)),
		chromedp.WaitVisible(css(`#traces [data-plugin="help"][data-outcome="matched"]`)),
	)

	// Another user sends alice an image, and a text to the group; an
	// admin then removes him from the group.
	bobby := env.srv.Dial(t, "bobby")
	var img bytes.Buffer
	pic := image.NewRGBA(image.Rect(0, 0, 4, 3))
	pic.Set(1, 1, color.RGBA{R: 200, A: 255})
	if err := png.Encode(&img, pic); err != nil {
		t.Fatal(err)
	}
	body, err := bobby.UploadImage(ctx, "dot.png", &img)
	if err != nil {
		t.Fatalf("upload an image: %v", err)
	}
	if _, err := bobby.SendSingle(ctx, "alice", body); err != nil {
		t.Fatalf("send an image: %v", err)
	}
	if _, err := bobby.SendGroup(ctx, jmessage.ID(env.gid), jmessage.Text("大家好")); err != nil {
		t.Fatalf("send to the group: %v", err)
	}
	step("an image from bobby shows in his 1:1 chat",
		chromedp.WaitVisible(css(`#conversations [data-conv="user:bobby"] .badge`)),
		chromedp.Click(css(`#conversations [data-conv="user:bobby"]`)),
		chromedp.WaitVisible(css(`#messages [data-from="bobby"][data-type="image"] img`)),
		waitJS(`(document.querySelector('#messages [data-from="bobby"] img') || {}).naturalWidth === 4`),
	)
	if err := env.srv.RemoveMembers(env.gid, env.srv.AppKey, "bobby"); err != nil {
		t.Fatal(err)
	}

	step("the group's history is kept when switching back",
		chromedp.Click(css(fmt.Sprintf(`#conversations [data-conv=%q]`, group))),
		waitJS(count(pong)+" === 1"),
		waitJS(count(`#messages [data-from="alice"]`)+" === 2"),
		chromedp.WaitVisible(css(`#messages [data-from="bobby"][data-text="大家好"]`)),
		chromedp.WaitVisible(css(`#messages .sys[data-event-type="11"]`)),
	)

	// Drop the browser's connections: the page must redo c_init (with a
	// fresh signature) and login, and keep working.
	if n := env.conns.dropAll(); n == 0 {
		t.Fatal("no browser connection to drop")
	}
	step("reconnect, log in again and chat on",
		waitJS(`Number(document.querySelector('#status').dataset.logins) >= 2`),
		chromedp.WaitVisible(css(`#status[data-state="online"]`)),
		chromedp.Click(css(`#conversations [data-conv="user:jimbot"]`)),
		send("/ping"),
		waitJS(count(pong)+" === 2"),
	)

	// A second login of alice elsewhere stops the page.
	env.srv.Dial(t, "alice")
	step("logged in elsewhere",
		chromedp.WaitVisible(css(`#status[data-state="kicked"]`)),
		chromedp.WaitVisible(css(`#banner`)),
	)

	step("register a new user, who can chat with the bot too",
		chromedp.Click(css("#relogin")),
		chromedp.WaitVisible(css("#login-panel")),
		chromedp.Click(css("#register")), // shows the name and password fields
		chromedp.WaitVisible(css("#login-name")),
		chromedp.SendKeys(css("#login-name"), "carol"),
		chromedp.SendKeys(css("#login-password"), "密码-carol"),
		chromedp.Click(css("#register")),
		chromedp.WaitVisible(css(`#status[data-state="online"]`)),
		chromedp.Click(css(`#conversations [data-conv="user:jimbot"]`)),
		send("/ping"),
		chromedp.WaitVisible(css(pong)),
	)
	if _, err := env.srv.User(env.srv.AppKey, "carol"); err != nil {
		t.Fatalf("carol was not registered: %v", err)
	}
	// The page hashed the password as the server does (MD5 of UTF-8).
	carol := env.srv.Dial(t, "carol", jmessage.WithLogin("carol", "密码-carol"))
	carol.Close()
}
