package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/calltest"
	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/internal/siptest"
)

// kamCalls is how many calls each SIPp run through Kamailio makes, at
// this many per second.
const kamCalls = 40

// Kamailio (deploy/kamailio) balances PUBLISH and SUBSCRIBE load over two
// presence nodes that share JetStream. One node is killed (SIGKILL) while
// SIPp runs: Kamailio fails over to the other and marks the dead one
// down, after which no call fails; once the node is back on its address,
// Kamailio sends it traffic again. Then the other node is killed just
// before a run, which fails over request by request without a failed
// call. The failures of the run during which the first node dies (its
// subscriptions' in-dialog requests), and how long Kamailio took to mark
// it down, are logged, not asserted.
func TestKamailio_FailsOverToALiveNode(t *testing.T) {
	sipp := lookSIPp(t)
	kam := lookKamailio(t)
	url := natstest.RunJetStream(t)
	node := func(name string, sets ...string) *proc {
		return startSwitchboard(t, t.TempDir(), append([]string{"roles=presence", "sip.auth.enabled=false",
			"store.driver=nats", "store.nats.urls=" + url, "store.nats.node=" + name,
			"sip.trusted_proxies=127.0.0.1"}, sets...)...)
	}
	a, b := node("a"), node("b")
	k := startKamailio(t, kam, a.UDP, b.UDP)

	published := func(p *proc) float64 {
		return scrapeMetrics(t, p)[`switchboard_sip_requests_total{method="PUBLISH",status="200"}`]
	}
	received := func(p *proc) (n float64) {
		for series, v := range scrapeMetrics(t, p) {
			if strings.HasPrefix(series, `switchboard_sip_requests_total{method="PUBLISH",`) {
				n += v
			}
		}
		return n
	}
	// alice and bob publish while carol and dave watch presentities
	// nobody publishes: subscribe.xml expects no NOTIFY but its own.
	users := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(users, []byte("SEQUENTIAL\nalice;-;example.com;erin\nbob;-;example.com;frank\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// load runs publish.xml and subscribe.xml side by side through
	// Kamailio and, unless lenient, fails the test on any failed call.
	load := func(phase string, lenient bool) {
		t.Helper()
		var wg sync.WaitGroup
		runs := make([]sippRun, 2)
		for i, scenario := range []string{"publish.xml", "subscribe.xml"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runs[i] = execSIPp(t, sipp, scenario, users, "u1", k.addr, kamCalls, kamCalls)
			}()
		}
		wg.Wait()
		for _, r := range runs {
			t.Logf("%s: %s: %d calls ok, %d failed", phase, r.scenario, r.ok, r.failed)
			if !lenient && (r.err != nil || r.ok != kamCalls || r.failed != 0) {
				r.report(t, kamCalls)
				t.Logf("kamailio log (tail):\n%s", k.logs())
				t.FailNow()
			}
		}
	}

	// Phase 1: both nodes up; the Call-ID hash gives each a share.
	load("both nodes", false)
	if pa, pb := published(a), published(b); pa == 0 || pb == 0 {
		t.Fatalf("PUBLISHes answered 200: node a %v, node b %v; want both > 0", pa, pb)
	}

	// Node a dies (SIGKILL) once it has answered PUBLISHes of this run.
	before := published(a)
	done := make(chan struct{})
	go func() { defer close(done); load("node a killed", true) }()
	siptest.WaitFor(t, "node a answering the second run", func() bool { return published(a) >= before+5 })
	killed := time.Now()
	a.kill()
	k.waitFor(t, "node down: sip:"+a.UDP)
	t.Logf("Kamailio marked node a down %v after its SIGKILL", time.Since(killed).Round(time.Millisecond))
	<-done

	// Phase 2: node a down: nothing fails.
	load("node a down", false)

	// Node a comes back on its address; Kamailio's probe finds it.
	a = node("a", "sip.udp="+a.UDP)
	k.waitFor(t, "node up: sip:"+a.UDP)
	load("node a back", false)
	if received(a) == 0 { // answered or not: a node just started may shed load (503) on a busy host
		t.Fatalf("node a, back, was sent no PUBLISH")
	}

	// Node b dies between two runs, and the next starts at once, before
	// an OPTIONS probe can find b dead (that takes NODE_TIMEOUT at
	// least): the requests hashed to b fail over to a, one by one.
	b.kill()
	load("node b just killed", false)
	k.waitFor(t, "node down: sip:"+b.UDP)
}

// An agent's phone registers through Kamailio, which adds a Path naming
// itself, and the node that took the REGISTER shares the binding over
// JetStream. The ACD's leader then rings the phone for a callback
// through Kamailio, along the Path, rather than straight at its
// Contact: the INVITE reaches the phone from Kamailio, with Kamailio's
// Via on top and its Record-Route; the call is answered and bridged.
func TestKamailio_AgentIsRungAlongItsPath(t *testing.T) {
	kam := lookKamailio(t)
	tr, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	url := natstest.RunJetStream(t)
	var nodes []*proc
	for _, name := range []string{"a", "b"} {
		nodes = append(nodes, startSwitchboard(t, t.TempDir(), append(slices.Clone(callSets), "trunk.port="+port,
			"store.driver=nats", "store.nats.urls="+url, "store.nats.node="+name, "sip.trusted_proxies=127.0.0.1")...))
	}
	leader := waitLeader(t, nodes...)
	k := startKamailio(t, kam, nodes[0].UDP, nodes[1].UDP)

	alice := calltest.NewTestAgent(t, calltest.AgentOptions{Server: k.addr, User: "alice", Password: "alice-secret",
		Behaviour: calltest.Behaviour{Action: calltest.Answer}})
	waitAgentState(t, leader, "available")
	code, cb := requestCallback(t, leader, `{"group":"billing","phone":"06 12 34 56 78"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST /v1/callbacks on the leader: %d %+v", code, cb)
	}
	inv := calltest.Next(t, alice.Answered(), "the callback at the agent, through Kamailio").Invite()
	via := inv.Via()
	if src, top := inv.Source(), net.JoinHostPort(via.Host, strconv.Itoa(via.Port)); src != k.addr || top != k.addr {
		t.Errorf("the agent's INVITE came from %s with top Via %s, want Kamailio at %s", src, top, k.addr)
	}
	if rr := inv.GetHeader("Record-Route"); rr == nil || !strings.Contains(rr.Value(), k.addr) {
		t.Errorf("the agent's INVITE has Record-Route %v, want Kamailio's", rr)
	}
	calltest.Next(t, tr.Answered(), "the trunk call")
	waitCallback(t, leader, cb.ID, "talking")
}

// lookKamailio finds kamailio on PATH or in /usr/sbin (Debian's package
// puts it there, off a user's PATH). Without it the test is skipped,
// except in CI (CI set), where `make test` installs it and its absence is
// a failure.
func lookKamailio(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kamailio")
	if err == nil {
		return path
	}
	if _, serr := os.Stat("/usr/sbin/kamailio"); serr == nil {
		return "/usr/sbin/kamailio"
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("kamailio not found on PATH nor in /usr/sbin (CI is set; `make deps` installs it): %v", err)
	}
	t.Skipf("kamailio not found on PATH nor in /usr/sbin: %v", err)
	return ""
}

// kamailio is a running Kamailio on deploy/kamailio/kamailio.cfg.
type kamailio struct {
	addr   string        // its SIP address, UDP on loopback
	events chan string   // its dispatcher lines ("node down: sip:...")
	mu     sync.Mutex    // guards tail
	tail   []string      // its last log lines
	exited chan struct{} // closed when the process has exited
}

// startKamailio runs Kamailio in the foreground with its own runtime
// directory, listening on a free loopback UDP port and dispatching to the
// nodes (host:port), which it probes every second, and waits until it
// answers. It is killed, with its children, at cleanup.
func startKamailio(t *testing.T, bin string, nodes ...string) *kamailio {
	t.Helper()
	cfg, err := filepath.Abs(filepath.Join("..", "..", "deploy", "kamailio", "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var list strings.Builder
	for _, n := range nodes {
		list.WriteString("1 sip:" + n + "\n")
	}
	dsList := filepath.Join(dir, "dispatcher.list")
	if err := os.WriteFile(dsList, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kamailio{addr: freeUDP(t), events: make(chan string, 64), exited: make(chan struct{})}
	cmd := exec.Command(bin, "-DD", "-E", "-f", cfg, "-Y", dir, "-m", "32", "-M", "8",
		"-A", "LISTEN=udp:"+k.addr, "-A", `DISPATCHER_LIST="`+dsList+`"`, "-A", "PING_INTERVAL=1")
	// Its own process group, so that its children go with it; and should
	// the test binary die, the main process ends them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go k.readLog(stderr)
	go func() { cmd.Wait(); close(k.exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-k.exited
	})

	peer := siptest.NewPeer(t)
	siptest.WaitFor(t, "kamailio answering OPTIONS", func() bool {
		select {
		case <-k.exited:
			t.Fatalf("kamailio exited:\n%s", k.logs())
		default:
		}
		res, err := peer.TryDo(peer.Request(sipmsg.OPTIONS, "sip:"+k.addr, "probe", k.addr, ""))
		return err == nil && res.StatusCode == 200
	})
	return k
}

// freeUDP returns a loopback UDP address that was free a moment ago.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return "127.0.0.1:" + strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

// readLog keeps Kamailio's last log lines and passes on its dispatcher
// events.
func (k *kamailio) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		k.mu.Lock()
		k.tail = append(k.tail, line)
		if len(k.tail) > 100 {
			k.tail = k.tail[1:]
		}
		k.mu.Unlock()
		if _, event, ok := strings.Cut(line, "dispatcher: "); ok {
			select {
			case k.events <- event:
			default: // nobody waits for it
			}
		}
	}
}

func (k *kamailio) logs() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return strings.Join(k.tail, "\n")
}

// waitFor waits for the dispatcher event want, skipping others, for at
// most siptest.Wait.
func (k *kamailio) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(siptest.Wait)
	for {
		select {
		case e := <-k.events:
			if e == want {
				return
			}
		case <-deadline:
			t.Fatalf("kamailio logged no %q:\n%s", want, k.logs())
		}
	}
}

// A watcher subscribes through Kamailio, which record-routes the dialog;
// the node that answered is killed. The survivor that takes the
// subscription over NOTIFYs along the dialog's route set, through
// Kamailio, with its own Contact, and the watcher's refresh, sent
// through Kamailio to that Contact, reaches it and gets 200.
func TestKamailio_TakenOverSubscriptionGoesOnThroughIt(t *testing.T) {
	kam := lookKamailio(t)
	url := natstest.RunJetStream(t)
	var nodes []*proc
	for _, name := range []string{"a", "b"} {
		nodes = append(nodes, startSwitchboard(t, t.TempDir(), "roles=presence", "sip.auth.enabled=false",
			"cluster.takeover=4s", "store.driver=nats", "store.nats.urls="+url, "store.nats.node="+name,
			"sip.trusted_proxies=127.0.0.1"))
	}
	k := startKamailio(t, kam, nodes[0].UDP, nodes[1].UDP)
	// nodeOf is the node whose Contact a NOTIFY names.
	nodeOf := func(n *sipmsg.Request) *proc {
		for _, p := range nodes {
			if c := n.Contact(); c != nil && strings.Contains(c.Address.String(), p.UDP) {
				return p
			}
		}
		t.Fatalf("NOTIFY with Contact %v: none of the nodes", n.Contact())
		return nil
	}

	w := siptest.NewPeer(t)
	uri := "sip:carol@example.com"
	sub := w.Request(sipmsg.SUBSCRIBE, uri, "watcher", k.addr, "", "Event: presence", "Expires: 3600")
	accepted := w.Do(sub)
	rr := accepted.GetHeader("Record-Route")
	if accepted.StatusCode/100 != 2 || rr == nil || !strings.Contains(rr.Value(), k.addr) {
		t.Fatalf("SUBSCRIBE through Kamailio: %d, Record-Route %v", accepted.StatusCode, rr)
	}
	first := w.NextNotify()
	owner := nodeOf(first)
	if first.Source() != k.addr {
		t.Fatalf("the first NOTIFY came from %s, not through Kamailio at %s", first.Source(), k.addr)
	}

	owner.kill()
	dev := siptest.NewPeer(t)
	if res := publish(dev, k.addr, "carol", ""); res == nil || res.StatusCode != 200 {
		t.Fatalf("PUBLISH through Kamailio after the kill: %v", res)
	}
	taken := nextNotifyWith(t, w, "<basic>open</basic>")
	survivor := nodeOf(taken)
	if survivor == owner || taken.Source() != k.addr {
		t.Fatalf("NOTIFY after the kill from %s naming %s; want the survivor, through Kamailio", taken.Source(), taken.Contact())
	}
	checkSameDialogLater(t, first, taken)

	refresh := w.Request(sipmsg.SUBSCRIBE, taken.Contact().Address.String(), "watcher", k.addr, "",
		"Event: presence", "Expires: 600", "Route: "+rr.Value())
	refresh.ReplaceHeader(sub.From())
	refresh.ReplaceHeader(accepted.To())
	refresh.AppendHeader(sub.CallID())
	refresh.AppendHeader(&sipmsg.CSeqHeader{SeqNo: sub.CSeq().SeqNo + 1, MethodName: sipmsg.SUBSCRIBE})
	if res := w.Do(refresh); res.StatusCode != 200 {
		t.Fatalf("refresh SUBSCRIBE through Kamailio to the survivor: %d %s", res.StatusCode, res.Reason)
	}
}
