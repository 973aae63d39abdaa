package bot

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// Handler handles an event. It returns an error when it fails; the error
// is logged, traced, counted against the plugin's circuit breaker, and
// does not stop other plugins.
type Handler func(c *Context) error

// Middleware wraps a handler: it may act before and after calling next,
// or not call it at all, which drops the event for every later plugin.
type Middleware func(next Handler) Handler

// Chain composes middlewares around h: the first middleware is the
// outermost, as in chi.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// PluginError is an error (or a recovered panic) raised by a plugin's
// handler or middleware.
type PluginError struct {
	// Plugin is the plugin's ID.
	Plugin string
	// Handler names what failed: "middleware", "command /name",
	// "hear <pattern>", "on <kind>" or "fallback".
	Handler string
	// Err is the handler's error, or the panic converted to an error.
	Err error
	// Panic is the recovered panic value, nil for an ordinary error.
	Panic any
	// Stack is the goroutine stack of a panic.
	Stack []byte
}

func (e *PluginError) Error() string {
	if e.Panic != nil {
		return fmt.Sprintf("plugin %s: %s panicked: %v", e.Plugin, e.Handler, e.Panic)
	}
	return fmt.Sprintf("plugin %s: %s: %v", e.Plugin, e.Handler, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

// ErrStop is returned by Context.Stop-style handlers that want to stop
// propagation by returning it; it is not counted as a failure.
var ErrStop = errors.New("bot: stop propagation")

// protect runs h and converts a panic of any value into a *PluginError.
func protect(h Handler, c *Context, plugin, what string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			perr, _ := r.(error)
			if perr == nil {
				perr = fmt.Errorf("panic: %v", r)
			}
			err = &PluginError{Plugin: plugin, Handler: what, Err: perr, Panic: r, Stack: debug.Stack()}
		}
	}()
	err = h(c)
	if err != nil && !errors.Is(err, ErrStop) {
		var pe *PluginError
		if !errors.As(err, &pe) {
			err = &PluginError{Plugin: plugin, Handler: what, Err: err}
		}
	}
	return err
}
