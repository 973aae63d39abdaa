package jmserver

import (
	"container/list"
	"strconv"
	"strings"
	"time"

	"github.com/jimbot/jimbot/jmessage"
)

// itemKind tells a queued message from a queued event.
type itemKind uint8

const (
	kindMsg   itemKind = 'm'
	kindEvent itemKind = 'e'
)

// itemKey identifies a queued item: messages by msg_id, events by event_id.
type itemKey struct {
	kind itemKind
	id   int64
}

func (k itemKey) String() string { return string(rune(k.kind)) + ":" + strconv.FormatInt(k.id, 10) }

// item is one message or event waiting for the user's acknowledgement.
// payload is the encoded SyncMessage or EventNotification, built once.
type item struct {
	key     itemKey
	seq     uint64
	payload jmessage.RawJSON
	sentAt  time.Time // zero: not sent to the current session yet
	sends   int
}

// pendingQueue keeps a user's unacknowledged items in arrival order,
// indexed by key so acknowledgements and duplicates cost O(1). Items are
// sent in order, so the unsent ones always form a suffix of the list that
// starts at firstUnsent; sending and redelivery never scan more than the
// in-flight window.
type pendingQueue struct {
	order       *list.List // of *item
	index       map[itemKey]*list.Element
	firstUnsent *list.Element
	inflight    int // items sent to the current session and not yet acked
}

func newPendingQueue() pendingQueue {
	return pendingQueue{order: list.New(), index: map[itemKey]*list.Element{}}
}

func (q *pendingQueue) len() int { return q.order.Len() }

// add appends it, unsent, unless an item with the same key is queued. It
// reports whether it was added.
func (q *pendingQueue) add(it *item) bool {
	if _, dup := q.index[it.key]; dup {
		return false
	}
	it.sentAt = time.Time{}
	el := q.order.PushBack(it)
	q.index[it.key] = el
	if q.firstUnsent == nil {
		q.firstUnsent = el
	}
	return true
}

// remove drops the item with key k, if queued.
func (q *pendingQueue) remove(k itemKey) (*item, bool) {
	el, ok := q.index[k]
	if !ok {
		return nil, false
	}
	if el == q.firstUnsent {
		q.firstUnsent = el.Next()
	}
	it := q.order.Remove(el).(*item)
	delete(q.index, k)
	if !it.sentAt.IsZero() {
		q.inflight--
	}
	return it, true
}

// oldest returns the oldest item, or nil.
func (q *pendingQueue) oldest() *item {
	if el := q.order.Front(); el != nil {
		return el.Value.(*item)
	}
	return nil
}

// resetSent forgets what was sent to a previous session, so that
// everything is sent again to the next one.
func (q *pendingQueue) resetSent() {
	for el := q.order.Front(); el != nil; el = el.Next() {
		el.Value.(*item).sentAt = time.Time{}
	}
	q.inflight = 0
	q.firstUnsent = q.order.Front()
}

// takeUnsent marks as sent, and returns, the unsent items that fit in the
// in-flight window.
func (q *pendingQueue) takeUnsent(now time.Time, window int) []*item {
	var out []*item
	for q.firstUnsent != nil && q.inflight < window {
		it := q.firstUnsent.Value.(*item)
		it.sentAt = now
		it.sends++
		q.inflight++
		q.firstUnsent = q.firstUnsent.Next()
		out = append(out, it)
	}
	return out
}

// takeOverdue marks as sent again, and returns, the items sent at least
// after ago without an acknowledgement.
func (q *pendingQueue) takeOverdue(now time.Time, after time.Duration) []*item {
	var out []*item
	for el := q.order.Front(); el != nil && el != q.firstUnsent; el = el.Next() {
		it := el.Value.(*item)
		if now.Sub(it.sentAt) < after {
			continue
		}
		it.sentAt = now
		it.sends++
		out = append(out, it)
	}
	return out
}

// frames turns items into outbound frames, in order: consecutive messages
// share one msg_sync envelope (at most maxBatch each); each event is a frame
// of its own.
func frames(uid int64, syncSeq *int64, items []*item, maxBatch int) []outFrame {
	var out []outFrame
	var batch []jmessage.RawJSON
	flush := func() {
		if len(batch) == 0 {
			return
		}
		*syncSeq++
		out = append(out, outFrame{event: jmessage.EventMsgSync, payload: syncEnvelope(uid, *syncSeq, batch)})
		batch = nil
	}
	for _, it := range items {
		if it.key.kind == kindEvent {
			flush()
			out = append(out, outFrame{event: jmessage.EventEventNotification, payload: it.payload})
			continue
		}
		batch = append(batch, it.payload)
		if len(batch) == maxBatch {
			flush()
		}
	}
	flush()
	return out
}

// syncEnvelope assembles {"uid":U,"rid":R,"messages":[...]} from messages
// that are already encoded, so a message is encoded once however often it
// is delivered.
func syncEnvelope(uid, rid int64, msgs []jmessage.RawJSON) jmessage.RawJSON {
	n := 48
	for _, m := range msgs {
		n += len(m) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(`{"uid":`)
	b.WriteString(strconv.FormatInt(uid, 10))
	b.WriteString(`,"rid":`)
	b.WriteString(strconv.FormatInt(rid, 10))
	b.WriteString(`,"messages":[`)
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(m))
	}
	b.WriteString(`]}`)
	return jmessage.RawJSON(b.String())
}
