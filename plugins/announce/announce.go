// Package announce is the built-in "announce" plugin: scheduled messages
// from the config's schedules section, sent through the governor's
// announcement lane.
//
//	schedules:
//	  - name: standup
//	    cron: "0 9 * * 1-5"
//	    timezone: Asia/Shanghai
//	    group: 10001
//	    text: Stand-up in 5 minutes
package announce

import (
	"errors"
	"fmt"
	"time"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/jmessage"
)

// Announcement is one scheduled message.
type Announcement struct {
	Name     string `json:"name"`
	Cron     string `json:"cron,omitempty"`
	Every    string `json:"every,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	Group    int64  `json:"group,omitempty"`
	User     string `json:"user,omitempty"`
	Text     string `json:"text"`
}

// Plugin sends the announcements.
type Plugin struct {
	// Announcements are set directly, or from the settings key
	// "announcements".
	Announcements []Announcement
}

// Info implements bot.Plugin.
func (*Plugin) Info() bot.PluginInfo {
	return bot.PluginInfo{ID: "announce", New: func() bot.Plugin { return &Plugin{} }, Description: "sends scheduled announcements"}
}

// Provision registers one schedule per announcement.
func (p *Plugin) Provision(env *bot.Env) error {
	var cfg struct {
		Announcements []Announcement `json:"announcements"`
	}
	if err := env.Settings.Decode(&cfg); err != nil {
		return err
	}
	p.Announcements = append(p.Announcements, cfg.Announcements...)
	var errs []error
	for _, a := range p.Announcements {
		if err := p.register(env, a); err != nil {
			errs = append(errs, fmt.Errorf("announcement %s: %w", a.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Plugin) register(env *bot.Env, a Announcement) error {
	var loc *time.Location
	if a.Timezone != "" {
		l, err := time.LoadLocation(a.Timezone)
		if err != nil {
			return err
		}
		loc = l
	}
	spec := a.Cron
	if spec == "" {
		spec = a.Every
	}
	s, err := bot.ParseSchedule(spec, loc)
	if err != nil {
		return err
	}
	to := bot.Chat{Group: a.Group}
	if a.Group == 0 {
		if a.User == "" {
			return errors.New("needs a group or a user")
		}
		to = bot.Chat{Peer: bot.User{AppKey: env.Bot.Self().AppKey, Username: a.User}}
	}
	if a.Text == "" {
		return errors.New("empty text")
	}
	body := jmessage.Text(a.Text)
	return env.Schedule(a.Name, s, func(c *bot.Context) error { return c.Send(to, body) })
}

var _ bot.Provisioner = (*Plugin)(nil)
