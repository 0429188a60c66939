package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/calltest"
)

// The calls step: concurrent bridged calls, browser ↔ switchboard ↔ agent,
// at rising levels (100, 300, 500 by default), each held for a measuring
// window.
//
//   - switchboard runs as its own process with a generated configuration:
//     maxLevel+callAgentMargin agents in one group (each
//     with a sip.auth user), queue_limit 0, ICE on 127.0.0.1 only.
//   - The agents' phones are callSIPps SIPp UAS processes
//     (testdata/sipp/agent_uas.xml with -rtp_echo: every RTP packet goes
//     back to its source byte for byte); sbbench REGISTERs every agent
//     with a Contact at one of them, round robin.
//   - The visitors are calltest.Browser peers in this process (pion,
//     DTLS-SRTP, 50 G.711 packets/s each, every other one a probe whose
//     echo gives a round-trip time), placed with POST /v1/calls at
//     callPlaceRate per second. Levels grow: 100 calls, then 200 more,
//     and so on; every call stays up to the end.
//   - callControls control calls run all along from the same browsers'
//     code to a bare pion echo peer in a process of its own (echopeer.go):
//     the same round trip without switchboard and the SIP phone, under
//     the same load on this machine.
//
// A level is measured once every call placed echoes: all browsers mute,
// the pipes drain (callDrain), counters are read, the browsers unmute for
// the window, mute again, drain, and counters are read again. So packets
// sent in the window and their echoes are counted alike, none in flight.
//
//   - Loss end to end: 1 − echoes received / packets sent by the bridged
//     calls' browsers over the window: anything lost anywhere on the loop
//     (browser → relay → SIPp → relay → browser) counts. Switchboard's
//     relayed-packet counters and the kernel's per-socket UDP drops, by
//     process, tell where; loss in switchboard is what its counters did
//     not pass on, the drops at SIPp's sockets set apart (relayLost).
//   - Relay CPU per call: switchboard's utime+stime (/proc/<pid>/stat)
//     over the window (traffic flowing), divided by the window and by the
//     calls, in percent of one core, scaled to callPacketRate when the
//     browsers sent less. Switchboard's periodic re-PUBLISH of every
//     agent (acd.publish_interval, a cost of the agents, not of the
//     calls) is set to 1h so that it falls outside the windows.
//   - Added one-way latency: (RTT through switchboard − RTT of the control
//     calls) / 2, percentile by percentile (p50 of one minus p50 of the
//     other, likewise p99), over the probes echoed in the window. It
//     includes the SIPp echo and two loopback hops besides the relay; the
//     halving assumes both directions cost alike.
const (
	callAgentMargin = 20
	callSIPps       = 4 // SIPp answering processes, so that no echo socket carries all the traffic
	callPlaceRate   = 50
	callPlaceWait   = 30 * time.Second // for one call to be bridged and echo
	callProbeEvery  = 40 * time.Millisecond
	callControls    = 20
	callSettle      = 2 * time.Second
	callDrain       = 500 * time.Millisecond
	callGroup       = "bench"
	callPacketRate  = 50 // G.711 packets per second a browser sends
	callIdleWindow  = 3 * time.Second
)

// benchCall is one browser's call: through switchboard (id set) or a
// control call to the echo peer.
type benchCall struct {
	b       *calltest.Browser
	id      string
	bridged bool // its echo came back
}

// callRun is the calls step's state.
type callRun struct {
	srv      *server
	sipps    []*exec.Cmd
	echo     *echoPeer
	client   *http.Client
	calls    []*benchCall // through switchboard, in order placed
	controls []*benchCall
	placed   int      // calls tried
	failed   int      // of which failed
	failures []string // first errors, for the report
	mu       sync.Mutex
}

// callsStep runs the calls step and returns the rows of the final table.
func callsStep(ctx context.Context, env stepEnv, root string, levels []int, window time.Duration) ([][]string, error) {
	dir, err := os.MkdirTemp(env.tmp, "calls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	nAgents := slices.Max(levels) + callAgentMargin
	cfg, err := writeCallConfig(dir, nAgents)
	if err != nil {
		return nil, err
	}
	r := &callRun{client: &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}}
	defer r.close()
	if r.srv, err = startServer(ctx, env.bin, dir, "--config", cfg); err != nil {
		return nil, err
	}
	sippPorts, err := r.startSIPps(ctx, env.sipp, filepath.Join(root, "testdata", "sipp", "agent_uas.xml"), dir)
	if err != nil {
		return nil, err
	}
	if r.echo, err = startEchoPeer(ctx, filepath.Join(dir, "echopeer.log")); err != nil {
		return nil, err
	}
	w, err := newWatcher() // its SIP client sends the REGISTERs
	if err != nil {
		return nil, err
	}
	defer w.close()
	if err := registerAgents(ctx, w.client, r.srv.sip, nAgents, sippPorts); err != nil {
		return nil, err
	}
	fmt.Printf("  switchboard with %d agents in one group; %d SIPp UAS (-rtp_echo) answer for them; %d control calls to a pion echo peer\n",
		nAgents, callSIPps, callControls)
	if err := r.startControls(ctx); err != nil {
		return nil, err
	}
	idle, err := procCPU(r.srv.cmd.Process.Pid)
	if err != nil {
		return nil, fmt.Errorf("switchboard's CPU time: %w", err)
	}
	if err := sleepCtx(ctx, callIdleWindow); err != nil {
		return nil, err
	}
	idleEnd, _ := procCPU(r.srv.cmd.Process.Pid)
	idleCores := (idleEnd - idle).Seconds() / callIdleWindow.Seconds()
	fmt.Printf("  switchboard without calls: %.3f cores\n", idleCores)

	var res []callLevel
	for _, target := range levels {
		start := time.Now()
		r.placeUpTo(ctx, target)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		placed := time.Since(start)
		if err := sleepCtx(ctx, callSettle); err != nil {
			return nil, err
		}
		l, err := r.measure(ctx, target, window)
		if err != nil {
			return nil, err
		}
		prev := callLevel{cpu: map[string]time.Duration{"switchboard": time.Duration(idleCores * float64(time.Second))}, window: time.Second}
		if len(res) > 0 {
			prev = res[len(res)-1]
		}
		l.print(placed, prev)
		res = append(res, l)
	}
	r.mu.Lock()
	for _, f := range r.failures {
		fmt.Println("  failed call:", f)
	}
	r.mu.Unlock()
	r.hangUp(ctx)
	return callRows(res), nil
}

// startControls connects the control calls to the echo peer and waits
// for their echoes.
func (r *callRun) startControls(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, callControls)
	for range callControls {
		wg.Go(func() {
			c, err := r.connect(ctx, func(ctx context.Context, offer string) (string, error) {
				return r.echo.answer(ctx, r.client, offer)
			}, nil)
			if c != nil {
				r.mu.Lock()
				r.controls = append(r.controls, c)
				r.mu.Unlock()
			}
			if err != nil {
				errs <- fmt.Errorf("control call: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// connect creates a browser, connects it with post and waits until its
// audio comes back. The call is returned even on error once the browser
// exists, so that it is closed (and hung up) with the others.
func (r *callRun) connect(ctx context.Context, post func(context.Context, string) (string, error), id *string) (*benchCall, error) {
	b, err := calltest.NewBrowser(calltest.BrowserOptions{ProbeEvery: callProbeEvery, NoRTCPReports: true})
	if err != nil {
		return nil, err
	}
	c := &benchCall{b: b}
	ctx, cancel := context.WithTimeout(ctx, callPlaceWait)
	defer cancel()
	err = b.Connect(ctx, post)
	if id != nil {
		c.id = *id
	}
	if err != nil {
		return c, err
	}
	if err := b.WaitConnected(ctx); err != nil {
		return c, err
	}
	for b.PacketsReceived() == 0 {
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return c, fmt.Errorf("no echo within %s (%d packets sent)", callPlaceWait, b.PacketsSent())
		}
	}
	c.bridged = true
	return c, nil
}

// placeCall places one call through switchboard.
func (r *callRun) placeCall(ctx context.Context) (*benchCall, error) {
	var id string
	return r.connect(ctx, func(ctx context.Context, offer string) (string, error) {
		body, _ := json.Marshal(map[string]string{"group": callGroup, "sdp": offer})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+r.srv.http+"/v1/calls", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := r.client.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusCreated {
			return "", fmt.Errorf("POST /v1/calls: %d %s", res.StatusCode, bytes.TrimSpace(b))
		}
		var v struct {
			ID  string `json:"call_id"`
			SDP string `json:"sdp"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return "", err
		}
		id = v.ID
		return v.SDP, nil
	}, &id)
}

// placeUpTo places calls at callPlaceRate until target have been placed
// in all, and waits until each is bridged or failed.
func (r *callRun) placeUpTo(ctx context.Context, target int) {
	tick := time.NewTicker(time.Second / callPlaceRate)
	defer tick.Stop()
	var wg sync.WaitGroup
	for ; r.placed < target; r.placed++ {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			c, err := r.placeCall(ctx)
			r.mu.Lock()
			defer r.mu.Unlock()
			if c != nil {
				r.calls = append(r.calls, c)
			}
			if err != nil {
				r.failed++
				if len(r.failures) < 5 {
					r.failures = append(r.failures, err.Error())
				}
			}
		})
	}
	wg.Wait()
}

// hangUp ends every call through switchboard (DELETE) and closes every
// browser.
func (r *callRun) hangUp(ctx context.Context) {
	r.mu.Lock()
	calls := slices.Clone(r.calls)
	r.mu.Unlock()
	jobs := make(chan *benchCall)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for c := range jobs {
				if c.id != "" && r.srv != nil {
					if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+r.srv.http+"/v1/calls/"+c.id, nil); err == nil {
						if res, err := r.client.Do(req); err == nil {
							res.Body.Close()
						}
					}
				}
				c.b.Close()
			}
		})
	}
	for _, c := range calls {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// close ends whatever the step started.
func (r *callRun) close() {
	r.hangUp(context.Background())
	for _, c := range r.controls {
		c.b.Close()
	}
	if r.srv != nil {
		r.srv.stop()
	}
	if r.echo != nil {
		r.echo.stop()
	}
	for _, s := range r.sipps {
		s.Process.Kill()
		s.Wait()
	}
}

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
