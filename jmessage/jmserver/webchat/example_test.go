package webchat_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmserver"
	"github.com/jimbot/jimbot/jmessage/jmserver/webchat"
)

// Example serves the page for the development app and reads the
// configuration the page starts from. In `jimbot dev` the same mux also
// carries the server's /socket.io/, /resource and /media/ routes and the
// bot's admin API.
func Example() {
	signer := &jmessage.Signer{AppKey: jmserver.DevAppKey, MasterSecret: jmserver.DevMasterSecret}
	mux := http.NewServeMux()
	mux.Handle("/", webchat.Handler(webchat.Config{
		AppKey: jmserver.DevAppKey,
		Sign:   signer.Sign,
		Users:  []webchat.DemoUser{{Name: "alice", Password: "alice-pw"}, {Name: "bobby", Password: "bobby-pw"}},
		Groups: []webchat.DemoGroup{{GID: 1, Name: "jimbot 演示群"}},
		Bot:    "jimbot",
	}))
	// mux.Handle("/socket.io/", srv.Handler()) and so on, for a *jmserver.Server srv.
	ts := httptest.NewServer(mux)
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/dev/config")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// {"appkey":"6a696d626f74646576303031","users":[{"name":"alice","password":"alice-pw"},{"name":"bobby","password":"bobby-pw"}],"groups":[{"gid":1,"name":"jimbot 演示群"}],"bot":"jimbot","tracesURL":""}
}
