package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jimbot/jimbot/bot"
)

// Duration is a time.Duration written as in chat commands: "500ms",
// "30s", "10m", "1h30m", "2d", "1w", or a plain number of seconds
// (bot.ParseDuration).
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d in the shortest form ParseDuration reads back: "7d",
// "1h30m", "500ms".
func (d Duration) String() string {
	td := time.Duration(d)
	const day = 24 * time.Hour
	if td != 0 && td%day == 0 {
		return fmt.Sprintf("%dd", td/day)
	}
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML parses a scalar with bot.ParseDuration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration such as 30s, 10m or 2d, not %s", describe(n))
	}
	v, err := bot.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as String does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
