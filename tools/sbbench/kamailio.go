package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Kamailio, where installed (Debian: kamailio, kamailio-presence-modules),
// runs the same ramps beside Switchboard: its presence module with
// publications and subscriptions in memory only (publ_cache 2,
// subs_db_mode 0: it persists nothing, where Switchboard commits every
// answer to disk first), two UDP workers for two cores, auth off.
const kamailioConfig = `#!KAMAILIO
debug=1
log_stderror=yes
children=2
auto_aliases=no
listen=udp:%[1]s
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "presence.so"
loadmodule "presence_xml.so"
modparam("presence", "publ_cache", 2)
modparam("presence", "subs_db_mode", 0)
modparam("presence", "server_address", "sip:%[1]s")
modparam("presence_xml", "force_active", 1)

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("PUBLISH|SUBSCRIBE")) {
		if (!t_newtran()) {
			sl_reply_error();
			exit;
		}
		if (is_method("PUBLISH")) {
			handle_publish();
		} else {
			handle_subscribe();
		}
		t_release();
		exit;
	}
	if (is_method("ACK")) {
		exit;
	}
	sl_send_reply("405", "Method Not Allowed");
}
`

// kamailioPath finds kamailio, "" when it is not installed.
func kamailioPath() string {
	if p, err := exec.LookPath("kamailio"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/kamailio"); err == nil {
		return "/usr/sbin/kamailio"
	}
	return ""
}

// startKamailio runs Kamailio with kamailioConfig in dir, in the
// foreground, and waits until it answers an OPTIONS.
func startKamailio(ctx context.Context, bin, dir string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(kamailioConfig, addr)), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "kamailio.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s := &server{sip: addr, log: logf.Name(), exited: make(chan struct{})}
	// 2 GiB of shared memory holds the publications of a long step.
	s.cmd = exec.Command(bin, "-f", cfg, "-DD", "-E", "-m", "2048", "-M", "64")
	s.cmd.Dir, s.cmd.Stdout, s.cmd.Stderr, s.cmd.SysProcAttr = dir, logf, logf, childAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx, "kamailio", func() bool { return answersOptions(addr) }); err != nil {
		return nil, err
	}
	return s, nil
}

// answersOptions reports whether something at addr answers an OPTIONS over
// UDP within half a second.
func answersOptions(addr string) bool {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:" + addr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-sbbench-probe\r\n" +
		"From: <sip:sbbench@" + local + ">;tag=probe\r\nTo: <sip:" + addr + ">\r\nCall-ID: sbbench-probe\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 2048)
	_, err = c.Read(buf)
	return err == nil
}
