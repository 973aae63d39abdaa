package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jimbot/jimbot/bot"
	"github.com/jimbot/jimbot/bot/config"
	"github.com/jimbot/jimbot/jmessage"
)

// ParseTarget parses "group:<gid>", "user:<username>" or
// "user:<appkey>/<username>".
func ParseTarget(s, defaultApp string) (bot.Chat, error) {
	if g, ok := strings.CutPrefix(s, "group:"); ok {
		gid, err := strconv.ParseInt(g, 10, 64)
		if err != nil || gid <= 0 {
			return bot.Chat{}, fmt.Errorf("target %q: the gid must be a positive integer", s)
		}
		return bot.Chat{Group: gid}, nil
	}
	if u, ok := strings.CutPrefix(s, "user:"); ok && u != "" {
		app, name, found := strings.Cut(u, "/")
		if !found {
			app, name = defaultApp, u
		}
		return bot.Chat{Peer: bot.User{AppKey: app, Username: name}}, nil
	}
	return bot.Chat{}, fmt.Errorf("target %q: want group:<gid> or user:<username>", s)
}

// SendOnce connects as the config's account, sends one message and
// disconnects; it returns the msg_id.
func SendOnce(ctx context.Context, cfg *config.Config, to string, body jmessage.Body) (int64, error) {
	chat, err := ParseTarget(to, cfg.Server.AppKey)
	if err != nil {
		return 0, err
	}
	c, err := jmessage.Dial(ctx, cfg.Server.URL, cfg.ClientOptions()...)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var sent *jmessage.Sent
	switch {
	case chat.IsGroup():
		sent, err = c.SendGroup(ctx, jmessage.ID(chat.Group), body)
	case chat.Peer.AppKey == cfg.Server.AppKey:
		sent, err = c.SendSingle(ctx, chat.Peer.Username, body)
	default:
		sent, err = c.SendAcrossSingle(ctx, chat.Peer.AppKey, chat.Peer.Username, body)
	}
	if err != nil {
		return 0, err
	}
	return int64(sent.MsgID), nil
}
