package jmessage_test

import (
	"encoding/json"
	"io"
	"log"
	"log/slog"
)

func jmessageNumber(s string) json.Number { return json.Number(s) }

func init() {
	// go-socket.io's polling client logs to the standard logger when a
	// session it polls is closed; keep test output readable.
	log.SetOutput(io.Discard)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
