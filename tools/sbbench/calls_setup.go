package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// writeCallConfig writes switchboard's configuration: n agents with the
// skill of the one group, each a sip.auth user.
func writeCallConfig(dir string, n int) (string, error) {
	var c strings.Builder
	c.WriteString("sip:\n  auth:\n    users:\n      - {name: acd, password: acd-secret}\n      - {name: web, password: web-secret}\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&c, "      - {name: agent%d, password: agent%d-secret}\n", i, i)
	}
	c.WriteString("acd:\n  publish_interval: 1h\n  wrap_up: 0s\n  agents:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&c, "    - {uri: \"sip:agent%d@example.com\", name: Agent %d, skills: {%s: 3}}\n", i, i, callGroup)
	}
	fmt.Fprintf(&c, "  groups:\n    - {id: %s, name: Bench, skill: %s, min_proficiency: 1, queue_limit: 0}\n", callGroup, callGroup)
	c.WriteString("calls:\n  ring_timeout: 60s\n")
	c.WriteString("media:\n  rtp_port_min: 20000\n  rtp_port_max: 29999\n  connect_timeout: 30s\n  ice:\n    host_ips: [127.0.0.1]\n")
	path := filepath.Join(dir, "calls.yaml")
	return path, os.WriteFile(path, []byte(c.String()), 0o644)
}

// startSIPps starts the SIPp UAS processes and returns their SIP ports.
func (r *callRun) startSIPps(ctx context.Context, sipp, scenario, dir string) ([]int, error) {
	var ports []int
	for k := range callSIPps {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		sdir := filepath.Join(dir, fmt.Sprintf("sipp%d", k))
		if err := os.Mkdir(sdir, 0o755); err != nil {
			return nil, err
		}
		// SIPp moves up from -mp in steps of two to a free pair.
		cmd := exec.Command(sipp, "-sf", scenario, "-i", loopback, "-p", p, "-mi", loopback,
			"-mp", fmt.Sprint(16000+100*k), "-rtp_echo", "-nostdin", "-trace_err")
		cmd.Dir, cmd.SysProcAttr = sdir, childAttr()
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		r.sipps = append(r.sipps, cmd)
		ports = append(ports, port)
	}
	// Ready once each holds its SIP port.
	for deadline := time.Now().Add(10 * time.Second); ; {
		bound := 0
		for _, port := range ports {
			c, err := net.ListenPacket("udp", net.JoinHostPort(loopback, strconv.Itoa(port)))
			if err != nil {
				bound++
			} else {
				c.Close()
			}
		}
		if bound == len(ports) {
			return ports, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("SIPp UAS: %d of %d listening after 10 s", bound, len(ports))
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// registerAgents REGISTERs agent1..agentN at server (UDP) with a Contact
// at one of the SIPp ports, round robin, 32 at a time.
func registerAgents(ctx context.Context, client *sipgo.Client, server string, n int, ports []int) error {
	jobs, errs := make(chan int), make(chan error, n)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				user := fmt.Sprintf("agent%d", i)
				aor := sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}
				req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "example.com"})
				from := &sipmsg.FromHeader{Address: aor, Params: sipmsg.NewParams()}
				from.Params.Add("tag", sipmsg.GenerateTagN(8))
				req.AppendHeader(from)
				req.AppendHeader(&sipmsg.ToHeader{Address: aor})
				req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: loopback, Port: ports[i%len(ports)]}})
				req.AppendHeader(sipmsg.NewHeader("Expires", "3600"))
				req.SetDestination(server)
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				res, err := client.Do(rctx, req)
				if err == nil && res != nil && (res.StatusCode == 401 || res.StatusCode == 407) {
					res, err = client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: user, Password: user + "-secret"})
				}
				cancel()
				switch {
				case err == nil && res == nil:
					err = errors.New("no answer")
				case err == nil && res.StatusCode/100 != 2:
					err = fmt.Errorf("%d %s", res.StatusCode, res.Reason)
				}
				if err != nil {
					errs <- fmt.Errorf("REGISTER %s: %w", user, err)
				}
			}
		})
	}
	for i := 1; i <= n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs // nil when none
}
