package sip

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// stack is a whole presence server on loopback: bbolt file, domain
// services and SIP listeners on ephemeral ports.
type stack struct {
	t        testing.TB
	cfg      Config
	pcfg     presence.Config
	dbPath   string
	db       *store.DB
	presence *presence.Service
	location *location.Service
	srv      *Server
	// batchDelay is the store's (1 ms unless a test says otherwise).
	batchDelay time.Duration
	// calls has the server place calls to the registered phones.
	calls bool
}

func TestMain(m *testing.M) {
	sipmsg.SetDefaultLogger(siptest.Quiet()) // sipgo logs parse errors with whole messages
	// Short SIP timers so that an unanswered NOTIFY times out in 3.2 s.
	sipmsg.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	os.Exit(m.Run())
}

// newStack starts a server; edit may change the configs first, and opts
// the stack itself.
func newStack(t testing.TB, edit func(*Config, *presence.Config), opts ...func(*stack)) *stack {
	t.Helper()
	st := &stack{t: t, dbPath: filepath.Join(t.TempDir(), "sb.db"), batchDelay: time.Millisecond}
	for _, o := range opts {
		o(st)
	}
	st.cfg = Config{UDP: "127.0.0.1:0", TCP: "127.0.0.1:0", Host: "127.0.0.1"}
	st.pcfg = presence.DefaultConfig()
	st.pcfg.MinNotifyInterval = 0
	if edit != nil {
		edit(&st.cfg, &st.pcfg)
	}
	st.start()
	t.Cleanup(st.stop)
	return st
}

func (st *stack) start() {
	t := st.t
	t.Helper()
	db, err := store.Open(store.Config{Path: st.dbPath, BatchDelay: st.batchDelay})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(st.cfg, nil, siptest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	svc := presence.New(st.pcfg, db, srv, siptest.Quiet())
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	lcfg := location.DefaultConfig()
	lcfg.Domains = st.pcfg.Domains // as cmd wires it
	loc := location.New(lcfg, db)
	if err := loc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.ServePresence(svc)
	srv.ServeRegistrar(loc)
	if st.calls {
		srv.ServeCalls(loc)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	st.db, st.presence, st.location, st.srv = db, svc, loc, srv
}

func (st *stack) stop() {
	if st.srv == nil {
		return
	}
	st.srv.Close()
	st.presence.Close()
	st.db.Close()
	st.srv = nil
}

// restart stops the server and starts a new one on the same file and UDP
// port, which the watchers' dialogs point at; TCP takes any free port, as
// its old one may be handed to another socket meanwhile.
func (st *stack) restart() {
	st.cfg.UDP, st.cfg.TCP = st.srv.Addr("udp"), "127.0.0.1:0"
	st.stop()
	st.start()
}
