package bot

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// dispatcher runs events on a fixed pool of workers. Events of one chat
// are handled one at a time, in arrival order; different chats run
// concurrently. A chat with work waits in the ready queue; a worker takes
// it, handles a batch of its events and puts it back if more came, so a
// busy chat cannot starve the others. The number of queued events is
// bounded: submit blocks at the bound (backpressure). The only goroutines
// are the workers.
type dispatcher struct {
	handle  handleFunc
	workers int
	max     int64
	quantum int

	shards [64]chatShard
	seed   maphash.Seed
	ready  chan *chatQueue
	back   chan func() // rests of events handed back by executors

	queues sync.Pool // idle *chatQueue, with their slices

	queued  atomic.Int64
	watched context.Context // see watch
	spaceMu sync.Mutex
	space   *sync.Cond

	wg sync.WaitGroup
}

type chatShard struct {
	mu     sync.Mutex
	groups map[int64]*chatQueue
	peers  map[ChatKey]*chatQueue
}

func (sh *chatShard) get(k ChatKey) *chatQueue {
	if k.Group != 0 {
		return sh.groups[k.Group]
	}
	return sh.peers[k]
}

func (sh *chatShard) put(k ChatKey, q *chatQueue) {
	if k.Group != 0 {
		sh.groups[k.Group] = q
	} else {
		sh.peers[k] = q
	}
}

func (sh *chatShard) remove(k ChatKey) {
	if k.Group != 0 {
		delete(sh.groups, k.Group)
	} else {
		delete(sh.peers, k)
	}
}

// chatQueue holds the events of one chat that wait for a worker. A chat
// with no queued events is removed from its shard.
type chatQueue struct {
	key ChatKey
	mu  sync.Mutex
	// tasks[next:] are the chat's events not handled yet, in order. The
	// chat's runner reads a batch of them without the lock (submit only
	// appends past them) and moves next on after; the array is reused,
	// so a busy chat allocates nothing.
	tasks   []task
	next    int
	running bool
	// settled counts the two sides of a hand-over to an executor: the
	// worker done with the queue, the executor done with the event.
	// Whichever comes second lets the chat go on.
	settled atomic.Int32
	// resumed is the event an executor has finished, for the next
	// worker to commit.
	resumed atomic.Pointer[Context]
}

// consume forgets the n events after next, handled; q.mu must be held
// and no batch of tasks may be out. The handled part is dropped once it
// is the larger part, so that the array does not grow with a chat that
// never empties.
func (q *chatQueue) consume(n int) {
	clear(q.tasks[q.next : q.next+n])
	q.next += n
	switch {
	case q.next == len(q.tasks):
		q.tasks, q.next = q.tasks[:0], 0
	case q.next >= 64 && 2*q.next >= len(q.tasks):
		left := copy(q.tasks, q.tasks[q.next:])
		clear(q.tasks[left:])
		q.tasks, q.next = q.tasks[:left], 0
	}
}

// task is one event on its way through the bot.
type task struct {
	ev    *Event
	token any
	// done, if set, is called once the task is committed (tests and
	// Bot.Handle wait on it).
	done func()
}

// handleFunc handles a chat's events on a worker: first resumed (the
// events an executor has finished, if not nil), then tasks, in order. It
// reports how many of tasks it took and how many events it finished;
// parked, when events it took went on to an executor.
type handleFunc func(worker int, q *chatQueue, resumed *Context, tasks []task) (taken, done int, parked bool)

func newDispatcher(workers int, max int, handle handleFunc) *dispatcher {
	d := &dispatcher{
		handle:  handle,
		workers: workers,
		max:     int64(max),
		quantum: 64,
		seed:    maphash.MakeSeed(),
		// Every ready chat has at least one queued event, and queued
		// exceeds max only by the submitters racing past the check.
		ready: make(chan *chatQueue, max+1024),
		back:  make(chan func(), max+1024),
	}
	d.space = sync.NewCond(&d.spaceMu)
	for i := range d.shards {
		d.shards[i].groups = map[int64]*chatQueue{}
		d.shards[i].peers = map[ChatKey]*chatQueue{}
	}
	return d
}

func (d *dispatcher) start() {
	for i := 0; i < d.workers; i++ {
		d.wg.Add(1)
		go d.work(i)
	}
}

func (d *dispatcher) shard(k ChatKey) *chatShard {
	var h uint64
	if k.Group != 0 {
		h = uint64(k.Group) * 0x9E3779B97F4A7C15
	} else {
		var mh maphash.Hash
		mh.SetSeed(d.seed)
		mh.WriteString(k.AppKey)
		mh.WriteByte('/')
		mh.WriteString(k.Username)
		h = mh.Sum64()
	}
	return &d.shards[h>>58]
}

// submit queues t behind the other events of its chat. It blocks while
// the dispatcher is full and fails if ctx ends first.
func (d *dispatcher) submit(ctx context.Context, t task) error {
	if d.queued.Add(1) > d.max {
		if err := d.waitSpace(ctx); err != nil {
			d.release(1)
			return err
		}
	}
	key := t.ev.Chat.Key()
	sh := d.shard(key)
	sh.mu.Lock()
	q := sh.get(key)
	if q == nil {
		if v := d.queues.Get(); v != nil {
			q = v.(*chatQueue)
		} else {
			q = &chatQueue{}
		}
		q.key = key
		sh.put(key, q)
	}
	q.mu.Lock()
	sh.mu.Unlock()
	q.tasks = append(q.tasks, t)
	wake := !q.running
	q.running = true
	q.mu.Unlock()
	if wake {
		d.ready <- q
	}
	return nil
}

func (d *dispatcher) waitSpace(ctx context.Context) error {
	if ctx != d.watched {
		stop := context.AfterFunc(ctx, d.wakeWaiters)
		defer stop()
	}
	d.spaceMu.Lock()
	defer d.spaceMu.Unlock()
	for d.queued.Load() > d.max {
		if err := ctx.Err(); err != nil {
			return err
		}
		d.space.Wait()
	}
	return nil
}

// watch makes the end of ctx wake submitters waiting for room. Intake
// submits with the bot's life, watched once, so that waiting for room
// costs no registration each time.
func (d *dispatcher) watch(ctx context.Context) {
	d.watched = ctx
	context.AfterFunc(ctx, d.wakeWaiters)
}

func (d *dispatcher) wakeWaiters() {
	d.spaceMu.Lock()
	d.space.Broadcast()
	d.spaceMu.Unlock()
}

// release forgets n handled events and wakes waiters when the queue drops
// below the bound or empties.
func (d *dispatcher) release(n int64) {
	left := d.queued.Add(-n)
	if (left+n > d.max && left <= d.max) || left == 0 {
		d.spaceMu.Lock()
		d.space.Broadcast()
		d.spaceMu.Unlock()
	}
}

// work takes ready chats and handles up to a quantum of events at a time,
// and runs the rests of events executors hand back (handBack).
func (d *dispatcher) work(worker int) {
	defer d.wg.Done()
	for {
		var q *chatQueue
		select {
		case fn := <-d.back:
			fn()
			continue
		case next, ok := <-d.ready:
			if !ok {
				return
			}
			q = next
		}
		resumed := q.resumed.Swap(nil)
		q.mu.Lock()
		batch := q.tasks[q.next:]
		q.mu.Unlock()
		if len(batch) > d.quantum {
			batch = batch[:d.quantum]
		}

		taken, done, parked := d.handle(worker, q, resumed, batch)
		n := int64(done)
		q.mu.Lock()
		q.consume(taken)
		q.mu.Unlock()
		if parked {
			// Events went on to an executor: the chat stays running (no
			// other worker may take it) until resume. They stay counted
			// until they are done.
			if n > 0 {
				d.release(n)
			}
			d.settle(q)
			continue
		}
		d.done(q, n)
	}
}

// resume hands c, the first of the events an executor has finished (a
// unit), back to its chat: a worker commits them and goes on with the
// chat's next events. The events stay counted until then.
func (d *dispatcher) resume(c *Context) {
	// A parked chat stays in its shard: c.chatQ is still its queue.
	q := c.chatQ
	q.resumed.Store(c)
	d.settle(q)
}

// settle is called twice for an event handed to an executor: by the
// worker once it is done with q, and by resume. The second call queues
// the chat for a worker again.
func (d *dispatcher) settle(q *chatQueue) {
	if q.settled.Add(1) == 2 {
		q.settled.Store(0)
		d.ready <- q
	}
}

// done releases n handled events of q's chat and queues the chat again if
// more events came, or retires it.
func (d *dispatcher) done(q *chatQueue, n int64) {
	sh := d.shard(q.key)
	sh.mu.Lock()
	q.mu.Lock()
	more := q.next < len(q.tasks)
	if !more {
		q.running = false
		sh.remove(q.key)
	}
	q.mu.Unlock()
	sh.mu.Unlock()
	d.release(n)
	if more {
		d.ready <- q
	} else {
		// Out of the shard, nobody else can reach q now.
		d.queues.Put(q)
	}
}

// room returns how many events can be submitted before submit blocks,
// at least 1.
func (d *dispatcher) room() int {
	return int(max(d.max-d.queued.Load(), 1))
}

// handBack queues fn, the rest of an event an executor hands to the
// workers, for the next free one. It never blocks: every such event is
// counted in queued, so back has room for all of them.
func (d *dispatcher) handBack(fn func()) {
	d.back <- fn
}

// pending returns the number of queued events.
func (d *dispatcher) pending() int64 { return d.queued.Load() }

// drain waits until every queued event is handled.
func (d *dispatcher) drain() {
	d.spaceMu.Lock()
	for d.queued.Load() > 0 {
		d.space.Wait()
	}
	d.spaceMu.Unlock()
}

// stop drains and stops the workers. No submit may run during or after
// stop.
func (d *dispatcher) stop() {
	d.drain()
	close(d.ready)
	d.wg.Wait()
}
