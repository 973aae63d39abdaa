package jmessage

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Message is one received chat message: the msg_sync envelope plus its
// decoded content.
type Message struct {
	// ID is the server's msg_id, unique per server; use it to de-duplicate.
	ID ID
	// ConvType is ConvSingle or ConvGroup.
	ConvType int
	// FromUID is the sender's uid.
	FromUID ID
	// GroupID is the group of a group message, 0 for a single message.
	GroupID ID
	// Level is LevelNormal, LevelAcross (cross-app) or LevelSystem.
	Level int
	// Time is when the server accepted the message.
	Time time.Time
	// ReceiverUID is the uid of the logged-in user the message was pushed to.
	ReceiverUID ID
	// Content is the decoded content object; see Content.Body for the body.
	Content Content
	// Raw is the content exactly as received.
	Raw json.RawMessage
	// Err is set when the content could not be decoded. The message is
	// still delivered so that it can be acknowledged.
	Err error
}

// inboundKey identifies a pushed item for in-flight de-duplication.
type inboundKey struct {
	kind byte // 'm' message, 'e' event
	id   int64
}

// Inbound is one pushed item, a message or an event, waiting to be
// processed and acknowledged. Exactly one of Message and Event is set.
type Inbound struct {
	Message *Message
	Event   *EventNotification

	key  inboundKey
	recv RecvEntry
	c    *Client
	w    *wire // the connection that delivered it
}

// Ack acknowledges the item (msg_recv or the event echo) so that the
// server stops sending it. Call it only after the item has been processed
// and its effects persisted: a crash before Ack means the item is
// delivered again, not lost.
func (in *Inbound) Ack(ctx context.Context) error { return in.c.Ack(ctx, in) }

func newInboundMessage(w *wire, receiver ID, sm SyncMessage) *Inbound {
	m := &Message{
		ID: sm.MsgID, ConvType: sm.MsgType, FromUID: sm.FromUID, GroupID: sm.FromGID,
		Level: sm.MsgLevel, ReceiverUID: receiver, Raw: json.RawMessage(sm.Content),
	}
	switch {
	case sm.CTimeMs != 0:
		m.Time = time.UnixMilli(sm.CTimeMs)
	case sm.CTime != 0:
		m.Time = time.Unix(sm.CTime, 0)
	}
	if len(sm.Content) == 0 {
		m.Err = errors.New("jmessage: message has no content")
	} else if err := json.Unmarshal(m.Raw, &m.Content); err != nil {
		m.Err = err
	}
	return &Inbound{
		Message: m,
		key:     inboundKey{kind: 'm', id: int64(sm.MsgID)},
		recv:    RecvEntry{MsgID: sm.MsgID, MsgType: sm.MsgType, FromUID: sm.FromUID, FromGID: sm.FromGID},
		c:       w.c,
		w:       w,
	}
}

// offer hands an item to the consumer unless the same item is already in
// its hands, or the buffer is full (then the server's redelivery brings it
// back later).
func (c *Client) offer(in *Inbound) {
	if _, busy := c.inflight.LoadOrStore(in.key, struct{}{}); busy {
		return
	}
	select {
	case c.inbound <- in:
	default:
		c.inflight.Delete(in.key)
		if n := c.dropped.Add(1); n&(n-1) == 0 { // log the 1st, 2nd, 4th, 8th…
			c.opts.logger.Warn("jmessage: inbound buffer full; items left for redelivery", "dropped", n)
		}
	}
}

// Ack acknowledges several items at once: messages in one msg_recv,
// events each with its echo. Whatever the outcome, the items stop being
// in flight, so that a redelivery of an item whose Ack failed is handed
// out again. Ack returns ErrNotConnected while the client is
// reconnecting; the server will then deliver the items again.
func (c *Client) Ack(ctx context.Context, items ...*Inbound) error {
	defer func() {
		for _, in := range items {
			c.inflight.Delete(in.key)
		}
	}()
	c.mu.Lock()
	w := c.wire
	c.mu.Unlock()
	if w == nil {
		// While a new connection logs in, it already delivers; it is not
		// published until login completes.
		for _, in := range items {
			if in.w != nil && in.w.alive() {
				w = in.w
			}
		}
	}
	if w == nil {
		return ErrNotConnected
	}
	var recv []RecvEntry
	for _, in := range items {
		if in.Message != nil {
			recv = append(recv, in.recv)
		}
	}
	var errs []error
	if len(recv) > 0 {
		if err := w.emit(EventMsgRecv, MsgRecv{Messages: recv, RID: c.nextRID()}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, in := range items {
		if ev := in.Event; ev != nil {
			err := w.emit(EventEventNotification, EventEcho{EventID: ev.EventID, EventType: ev.EventType,
				FromUID: ev.FromUID, GID: ev.GID, RID: c.nextRID()})
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
