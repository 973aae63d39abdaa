package lua

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// reloadDelay lets a burst of file events (an editor's write, rename and
// chmod) settle into one reload.
const reloadDelay = 100 * time.Millisecond

// host is what the scripts of one Load share: the options and one file
// watcher (inotify instances are a scarce per-user resource, so scripts
// do not get one each).
type host struct {
	opts Options

	mu      sync.Mutex
	w       *fsnotify.Watcher
	scripts map[*Script]*time.Timer // watched scripts and their pending reloads
	done    chan struct{}
}

// watch starts watching s's files. It watches folders, not files,
// because editors often save by writing a new file and renaming it over
// the old one.
func (h *host) watch(s *Script) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return err
		}
		h.w, h.scripts, h.done = w, map[*Script]*time.Timer{}, make(chan struct{})
		go h.run(w, h.done)
	}
	var dirs []string
	if fi, err := os.Stat(s.path); err == nil && fi.IsDir() {
		_ = filepath.WalkDir(s.path, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	} else {
		dirs = append(dirs, filepath.Dir(s.path))
	}
	for _, d := range dirs {
		if err := h.w.Add(d); err != nil {
			return err
		}
	}
	h.scripts[s] = nil
	return nil
}

// unwatch stops watching s; the watcher closes with its last script.
func (h *host) unwatch(s *Script) {
	h.mu.Lock()
	if t := h.scripts[s]; t != nil {
		t.Stop()
	}
	delete(h.scripts, s)
	var w *fsnotify.Watcher
	var done chan struct{}
	if len(h.scripts) == 0 && h.w != nil {
		w, done = h.w, h.done
		h.w = nil
	}
	h.mu.Unlock()
	if w != nil {
		w.Close()
		<-done
	}
}

// concerns reports whether a changed path belongs to s.
func (s *Script) concerns(name string) bool {
	name = filepath.Clean(name)
	path := filepath.Clean(s.path)
	if name == path {
		return true
	}
	return strings.HasPrefix(name, path+string(filepath.Separator)) && strings.HasSuffix(name, ".lua") && !isTestFile(filepath.Base(name))
}

func (h *host) run(w *fsnotify.Watcher, done chan struct{}) {
	defer close(done)
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			if ev.Op&fsnotify.Create != 0 {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = w.Add(ev.Name)
				}
			}
			h.mu.Lock()
			for s, t := range h.scripts {
				if !s.concerns(ev.Name) {
					continue
				}
				if t == nil {
					s := s
					h.scripts[s] = time.AfterFunc(reloadDelay, func() {
						if _, err := os.Stat(s.path); err != nil {
							return // deleted, or mid-rename: the next event brings it back
						}
						_ = s.Reload()
					})
				} else {
					t.Reset(reloadDelay)
				}
			}
			h.mu.Unlock()
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			h.opts.Logger.Warn("lua: file watcher", "err", err)
		}
	}
}
