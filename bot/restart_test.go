package bot_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmtest"
	"github.com/jimbot/jimbot/storage"
)

// TestMain lets the test binary run as a bot process for the restart
// test (JIMBOT_TEST_CHILD set).
func TestMain(m *testing.M) {
	if os.Getenv("JIMBOT_TEST_CHILD") != "" {
		if err := runChildBot(); err != nil {
			fmt.Fprintln(os.Stderr, "child bot:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdAck is a transport whose acknowledgements never leave: it reports
// that the ledger has committed (Ack is called right after the commit) and
// then blocks, so the parent can kill the process between handling and
// acknowledging.
type holdAck struct{ *bot.JMessage }

func (h holdAck) Ack(ctx context.Context, tokens []any) error {
	fmt.Println("COMMITTED")
	<-ctx.Done()
	return ctx.Err()
}

func runChildBot() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	tr, err := bot.DialJMessage(ctx, os.Getenv("JIMBOT_URL"), discard(),
		jmessage.WithAppKey(os.Getenv("JIMBOT_APPKEY"), os.Getenv("JIMBOT_SECRET")),
		jmessage.WithLogin("jimbot", jmtest.Password("jimbot")))
	if err != nil {
		return err
	}
	defer tr.Close()
	db, err := storage.Open(os.Getenv("JIMBOT_DB"), nil)
	if err != nil {
		return err
	}
	defer db.Close()
	var t bot.Transport = tr
	if os.Getenv("JIMBOT_HOLD_ACK") != "" {
		t = holdAck{tr}
	}
	b, err := bot.New(bot.Options{Transport: t, Store: db, Logger: discard()})
	if err != nil {
		return err
	}
	b.Router().On(bot.KindMessage, func(c *bot.Context) error {
		fmt.Println("HANDLED", c.Event.ID, c.Event.Text)
		return nil
	})
	go func() { io.Copy(io.Discard, os.Stdin); stop() }() // parent closes stdin to stop us
	return b.Run(ctx, 5*time.Second)
}

// child is a bot process.
type child struct {
	cmd   *exec.Cmd
	lines chan string
	stdin io.WriteCloser
}

func startChild(t *testing.T, srv *jmtest.Server, db string, hold bool) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JIMBOT_TEST_CHILD=1", "JIMBOT_URL="+srv.URL, "JIMBOT_APPKEY="+srv.AppKey,
		"JIMBOT_SECRET="+srv.Secret, "JIMBOT_DB="+db)
	if hold {
		cmd.Env = append(cmd.Env, "JIMBOT_HOLD_ACK=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100), stdin: stdin}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return c
}

func (c *child) expect(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("child did not print %q", prefix)
		}
	}
}

// TestNoDoubleHandlingAcrossACrash kills the bot process (SIGKILL) after
// it handled a message and recorded it, but before it acknowledged it. The
// server delivers the message again to the next process, which must
// acknowledge it without handling it a second time.
func TestNoDoubleHandlingAcrossACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts bot processes")
	}
	srv := jmtest.Start(t)
	srv.AddUser(t, "jimbot")
	srv.AddUser(t, "alice")
	db := filepath.Join(t.TempDir(), "bot.db")
	alice := srv.Dial(t, "alice")
	ctx := context.Background()

	first := startChild(t, srv, db, true)
	waitUntil(t, func() bool { return srv.Online(srv.AppKey, "jimbot") })
	sent, err := alice.SendSingle(ctx, "jimbot", jmessage.Text("handle me once"))
	if err != nil {
		t.Fatal(err)
	}
	id := "m:" + sent.MsgID.String()
	if got := first.expect(t, "HANDLED"); got != "HANDLED "+id+" handle me once" {
		t.Fatalf("first process: %q", got)
	}
	first.expect(t, "COMMITTED")
	first.cmd.Process.Kill() // between handling and ack
	first.cmd.Wait()
	if n, _ := srv.Pending(srv.AppKey, "jimbot"); n != 1 {
		t.Fatalf("the message should still wait for its ack: %d pending", n)
	}

	second := startChild(t, srv, db, false)
	// The redelivered message is acknowledged without being handled; a new
	// message is handled.
	waitUntil(t, func() bool { n, _ := srv.Pending(srv.AppKey, "jimbot"); return n == 0 })
	sent2, err := alice.SendSingle(ctx, "jimbot", jmessage.Text("new one"))
	if err != nil {
		t.Fatal(err)
	}
	if got := second.expect(t, "HANDLED"); got != "HANDLED m:"+sent2.MsgID.String()+" new one" {
		t.Fatalf("second process handled %q first (the redelivered message must not be handled again)", got)
	}
	second.stdin.Close()
	if err := second.cmd.Wait(); err != nil {
		t.Fatalf("second process: %v", err)
	}
}
