package bot

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/jimbot/jimbot/bot/clock"
)

// Schedule tells when something runs next.
type Schedule interface {
	// Next returns the first time after t, or the zero time for never.
	Next(t time.Time) time.Time
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a schedule:
//
//   - a cron expression of five fields, "0 9 * * 1-5" (robfig/cron's
//     standard parser), optionally prefixed with "CRON_TZ=Asia/Shanghai ";
//   - a descriptor: @yearly, @monthly, @weekly, @daily, @hourly;
//   - an interval: "@every 10m", or just "10m", "1h30m", "2d".
//
// Cron times are in loc (time.Local when nil) unless CRON_TZ says
// otherwise.
func ParseSchedule(spec string, loc *time.Location) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	if d, err := ParseDuration(strings.TrimPrefix(spec, "@every ")); err == nil {
		if d < time.Second {
			return nil, fmt.Errorf("schedule %q: interval under one second", spec)
		}
		return every(d), nil
	}
	if loc != nil && !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") && !strings.HasPrefix(spec, "@") {
		spec = "CRON_TZ=" + loc.String() + " " + spec
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

// every runs at a fixed interval from the first time it is asked.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// once runs at one time.
type once time.Time

func (o once) Next(t time.Time) time.Time {
	if time.Time(o).After(t) {
		return time.Time(o)
	}
	return time.Time{}
}

// schedEntry is a registered schedule.
type schedEntry struct {
	name     string
	fullName string // "plugin/name", the Tick event's Schedule
	what     string
	sched    Schedule
	h        Handler
	plugin   *pluginState
}

// Every registers h to run on spec (see ParseSchedule); each run is a
// KindTick event through the chain whose Schedule is "<plugin>/<name>".
// Sends from it go in the announcement lane. Runs missed while the bot
// was down are skipped, not caught up.
func (r *Router) Every(name, spec string, h Handler) error {
	if err := r.check(); err != nil {
		return err
	}
	s, err := ParseSchedule(spec, nil)
	if err != nil {
		return r.fail(fmt.Errorf("plugin %s: schedule %s: %w", r.p.id, name, err))
	}
	return r.Schedule(name, s, h)
}

// At registers h to run once at t.
func (r *Router) At(name string, t time.Time, h Handler) error {
	return r.Schedule(name, once(t), h)
}

// Schedule registers h to run on s.
func (r *Router) Schedule(name string, s Schedule, h Handler) error {
	if err := r.check(); err != nil {
		return err
	}
	if name == "" || strings.ContainsAny(name, "/ \t") {
		return r.fail(fmt.Errorf("plugin %s: schedule name %q must be a word", r.p.id, name))
	}
	if h == nil || s == nil {
		return r.fail(fmt.Errorf("plugin %s: schedule %s needs a schedule and a handler", r.p.id, name))
	}
	e := &schedEntry{name: name, fullName: r.p.id + "/" + name, what: "schedule " + name, sched: s, h: h, plugin: r.p}
	r.add(func(rs *routes) { rs.schedules = append(rs.schedules, e) })
	return nil
}

// scheduler fires the router's schedules on the bot's clock, on one
// goroutine.
type scheduler struct {
	b     *Bot
	clock clock.Clock
	mu    sync.Mutex
	next  map[string]time.Time // by full name
	all   map[string]*schedEntry
	wake  chan struct{}
}

func newScheduler(b *Bot) *scheduler {
	return &scheduler{b: b, clock: b.clock, next: map[string]time.Time{}, all: map[string]*schedEntry{}, wake: make(chan struct{}, 1)}
}

// update takes the router's schedules: new ones are planned from now,
// kept ones keep their next time, removed ones are dropped.
func (s *scheduler) update(rt *router) {
	now := s.clock.Now()
	s.mu.Lock()
	next := map[string]time.Time{}
	for name, e := range rt.schedules {
		if old, ok := s.all[name]; ok && old.sched == e.sched {
			if t, ok := s.next[name]; ok {
				next[name] = t
				continue
			}
		}
		if t := e.sched.Next(now); !t.IsZero() {
			next[name] = t
		}
	}
	s.next, s.all = next, rt.schedules
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Upcoming returns the next run of every schedule, soonest first.
func (b *Bot) Upcoming() []ScheduledRun {
	if b.sched == nil {
		return nil
	}
	s := b.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ScheduledRun, 0, len(s.next))
	for name, t := range s.next {
		out = append(out, ScheduledRun{Name: name, At: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// ScheduledRun is the next run of a schedule.
type ScheduledRun struct {
	Name string
	At   time.Time
}

func (s *scheduler) run(quit <-chan struct{}) {
	for {
		now := s.clock.Now()
		var due []string
		var soonest time.Time
		s.mu.Lock()
		for name, t := range s.next {
			if !t.After(now) {
				due = append(due, name)
				if n := s.all[name].sched.Next(now); !n.IsZero() {
					s.next[name] = n
				} else {
					delete(s.next, name)
				}
				continue
			}
			if soonest.IsZero() || t.Before(soonest) {
				soonest = t
			}
		}
		s.mu.Unlock()
		sort.Strings(due)
		for _, name := range due {
			ev := &Event{Kind: KindTick, Schedule: name, Time: now}
			if err := s.b.Emit(s.b.life, ev); err != nil {
				return
			}
		}
		if len(due) > 0 {
			continue
		}
		var fire <-chan time.Time
		var t clock.Timer
		if !soonest.IsZero() {
			var ok bool
			if t, ok = clock.NewTimerAt(s.clock, now, soonest); !ok {
				continue // the clock moved on meanwhile: look again
			}
			fire = t.C()
		}
		select {
		case <-fire:
		case <-s.wake:
		case <-quit:
			if t != nil {
				t.Stop()
			}
			return
		}
		if t != nil {
			t.Stop()
		}
	}
}

// Reload replaces plugin id's commands, hears, event handlers, fallbacks
// and schedules while the bot runs: register calls the Router as
// Provision would. The new table is checked for conflicts and swapped in
// atomically; on any error the old registrations stay. Middleware cannot
// be changed by a reload. The Lua host uses it for hot reload.
func (b *Bot) Reload(id string, register func(r *Router) error) error {
	if !b.started.Load() {
		return errors.New("bot: Reload before Start")
	}
	b.reloadMu.Lock()
	defer b.reloadMu.Unlock()
	p := b.pluginByID(id)
	if p == nil {
		return fmt.Errorf("bot: no plugin %q", id)
	}
	staged := &routes{staging: true}
	if err := callSafely(func() error { return register(&Router{b: b, p: p, into: staged}) }); err != nil {
		return fmt.Errorf("plugin %s: reload: %w", id, err)
	}
	if len(staged.errs) > 0 {
		return fmt.Errorf("plugin %s: reload: %w", id, errors.Join(staged.errs...))
	}
	b.mu.Lock()
	old := p.routes
	staged.staging = false
	p.routes = staged
	rt, conflicts := buildRouter(b.plugins, b.opts.Prefixes)
	if len(conflicts) > 0 {
		p.routes = old
		b.mu.Unlock()
		return fmt.Errorf("plugin %s: reload: %w", id, errors.Join(conflicts...))
	}
	b.rt.Store(rt)
	b.mu.Unlock()
	b.sched.update(rt)
	return nil
}
