package httpapi

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/hertz/pkg/network"
	hnetpoll "github.com/cloudwego/hertz/pkg/network/netpoll"
	"golang.org/x/sys/unix"
)

// writeTimeout bounds a write that a client's socket did not take at once:
// a client that does not drain its socket within it is dropped.
const writeTimeout = 10 * time.Second

// perWriter is how many streams an event takes one goroutine for: an
// event to more goes out from several, up to GOMAXPROCS.
const perWriter = 1024

// The chunks of the streams' bodies that are not snapshots.
var (
	heartbeatChunk = chunk([]byte(": heartbeat\n\n"))
	lastChunk      = []byte("0\r\n\r\n")
)

// streams holds the availability streams once their handlers have handed
// them over, and writes every later event to them. One goroutine, run,
// owns them all, and one ticker beats for all; an event to many streams
// goes out from a few goroutines, each trying every socket without
// blocking. A socket that does not take an event at once gets a goroutine
// of its own to finish that write within writeTimeout, and its stream is
// skipped meanwhile; once through, it gets the latest snapshot if it
// missed any. A client that is gone or too slow is dropped and its
// connection closed. When run returns (stop, or Snapshots.Run ended) every
// stream ends.
//
// An open stream costs its socket and a few hundred bytes: no goroutine,
// no buffer, no timer, except over TLS, whose connection cannot leave
// hertz (adopt).
type streams struct {
	snaps        *Snapshots
	heartbeat    time.Duration
	writeTimeout time.Duration

	handed  chan *stream   // from adopt to run
	behind  chan writeDone // from the slow writes to run
	quit    chan struct{}  // closed by stop: run returns, adopt refuses
	stopped sync.Once
	writers sync.WaitGroup // the slow writes, waited for by run
	held    atomic.Int64   // streams open

	// Owned by run.
	all   []*stream
	cur   *snapshot // the latest snapshot run has seen
	frame []byte    // cur's event, as a chunk
}

// stream is one client's connection after the hand-off.
type stream struct {
	conn net.Conn
	// raw tries a write without blocking; nil where that cannot be done
	// (TLS), and every write goes through a goroutine.
	raw  syscall.RawConn
	last uint64 // the id of the snapshot sent last; ids only rise
	slow bool   // a goroutine is finishing a write: skip the stream
	gone bool   // dropped
	// released is closed when the stream is dropped, for an adopt that
	// holds its hertz connection until then; nil otherwise.
	released chan struct{}
}

// writeDone is the end of a slow write.
type writeDone struct {
	s   *stream
	err error
}

func newStreams(snaps *Snapshots) *streams {
	return &streams{snaps: snaps, heartbeat: heartbeat, writeTimeout: writeTimeout,
		handed: make(chan *stream), behind: make(chan writeDone), quit: make(chan struct{})}
}

// adopt takes over c, the connection of a stream whose handler has sent
// the snapshot last. The socket under a netpoll connection is duplicated,
// and hertz closes its own descriptor and lets go of the connection's
// buffers and goroutine as soon as adopt returns, at once. Any other
// connection (TLS, on the standard transport) cannot leave hertz: adopt
// holds its goroutine until the stream ends.
func (a *streams) adopt(c network.Conn, last uint64) {
	s := &stream{last: last}
	sock, err := detach(c)
	switch {
	case err != nil:
		return // hertz closes c; the client reconnects
	case sock == nil:
		s.conn, s.released = c, make(chan struct{})
	default:
		if s.raw, err = sock.SyscallConn(); err != nil {
			sock.Close()
			return
		}
		s.conn = sock
	}
	select {
	case a.handed <- s:
	case <-a.quit:
		s.conn.Close()
		return
	}
	if s.released != nil {
		<-s.released
	}
}

// detach returns the socket under a netpoll connection as a connection of
// Go's own, on a duplicate descriptor; nil for any other connection.
func detach(c network.Conn) (*net.TCPConn, error) {
	pc, ok := c.(*hnetpoll.Conn)
	if !ok {
		return nil, nil
	}
	fder, ok := pc.Conn.(interface{ Fd() int })
	if !ok {
		return nil, nil
	}
	fd, err := unix.FcntlInt(uintptr(fder.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("stream: duplicate socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "stream")
	defer f.Close() // FileConn has its own duplicate
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("stream: a %T, not TCP", conn)
	}
	return tcp, nil
}

// run writes every new snapshot and heartbeat to the streams until stop
// or the end of Snapshots.Run, then ends them all.
func (a *streams) run() {
	defer a.writers.Wait()
	defer a.closeAll()
	defer a.stop()
	beat := time.NewTicker(a.heartbeat)
	defer beat.Stop()
	a.advance()
	for {
		select {
		case <-a.quit:
			return
		case <-a.snaps.done:
			return
		case s := <-a.handed:
			a.all = append(a.all, s)
			a.held.Add(1)
			a.send(s, a.frame, a.cur.id)
		case d := <-a.behind:
			a.caughtUp(d)
		case <-a.cur.next:
			a.advance()
			a.broadcast(a.frame, a.cur.id)
		case <-beat.C:
			a.broadcast(heartbeatChunk, 0)
		}
	}
}

// stop ends run: at once, or after the event it is writing.
func (a *streams) stop() { a.stopped.Do(func() { close(a.quit) }) }

// advance moves to the current snapshot.
func (a *streams) advance() {
	a.cur = a.snaps.cur.Load()
	a.frame = chunk(a.cur.event)
}

// broadcast sends frame to every stream, from up to GOMAXPROCS goroutines,
// and forgets the streams dropped.
func (a *streams) broadcast(frame []byte, id uint64) {
	n := len(a.all)
	parts := min(runtime.GOMAXPROCS(0), (n+perWriter-1)/perWriter)
	var wg sync.WaitGroup
	for p := range parts {
		part := a.all[p*n/parts : (p+1)*n/parts]
		wg.Go(func() {
			for _, s := range part {
				a.send(s, frame, id)
			}
		})
	}
	wg.Wait()
	a.all = slices.DeleteFunc(a.all, func(s *stream) bool { return s.gone })
}

// send writes frame, the snapshot id or a heartbeat (id 0), to s unless s
// is behind, gone, or has that snapshot or a later one. What the socket
// does not take at once is left to a goroutine; a socket that fails drops
// the stream.
func (a *streams) send(s *stream, frame []byte, id uint64) {
	if s.slow || s.gone || (id != 0 && s.last >= id) {
		return
	}
	if id != 0 {
		s.last = id
	}
	n, err := s.try(frame)
	if err != nil {
		a.drop(s)
		return
	}
	if n < len(frame) {
		s.slow = true
		rest := frame[n:]
		a.writers.Go(func() { a.finish(s, rest) })
	}
}

// finish writes rest, what the socket of s did not take at once, within
// writeTimeout, and tells run.
func (a *streams) finish(s *stream, rest []byte) {
	err := s.conn.SetWriteDeadline(time.Now().Add(a.writeTimeout))
	if err == nil {
		_, err = s.conn.Write(rest)
	}
	if err == nil {
		// An expired deadline would fail the next try, too.
		err = s.conn.SetWriteDeadline(time.Time{})
	}
	select {
	case a.behind <- writeDone{s, err}:
	case <-a.quit:
	}
}

// caughtUp ends a slow write: the stream is dropped if it failed, or gets
// the latest snapshot if it missed one meanwhile.
func (a *streams) caughtUp(d writeDone) {
	d.s.slow = false
	if d.err != nil {
		a.drop(d.s)
		return
	}
	a.send(d.s, a.frame, a.cur.id)
}

// drop ends s: its connection closes, and an adopt holding it returns.
func (a *streams) drop(s *stream) {
	s.gone = true
	s.conn.Close()
	if s.released != nil {
		close(s.released)
	}
	a.held.Add(-1)
}

// closeAll ends every stream, with the last chunk where the socket takes
// it at once.
func (a *streams) closeAll() {
	for _, s := range a.all {
		if s.gone {
			continue
		}
		if !s.slow {
			s.try(lastChunk)
		}
		a.drop(s)
	}
	a.all = nil
}

// try writes as much of p as the socket of s takes at once: none when it
// cannot be tried (TLS).
func (s *stream) try(p []byte) (n int, err error) {
	if s.raw == nil {
		return 0, nil
	}
	if rerr := s.raw.Write(func(fd uintptr) bool {
		n, err = syscall.Write(int(fd), p)
		return true // done, whatever happened: never wait
	}); rerr != nil {
		return 0, rerr
	}
	switch {
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return n, nil
}

// chunk frames p as one chunk of a chunked body.
func chunk(p []byte) []byte {
	return fmt.Appendf(nil, "%x\r\n%s\r\n", len(p), p)
}
