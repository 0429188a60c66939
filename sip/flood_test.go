package sip

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard/switchboard/presence"
)

// One address sending faster than sip.flood.rate gets 503 with
// Retry-After, then, past burst refusals more, no answer at all; another
// address is served meanwhile, and exempt addresses are never limited.
func TestFlood_RefusesThenDropsOneAddress(t *testing.T) {
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.Flood = FloodConfig{Rate: 1, Burst: 5}
	})
	blast := func(from string, n int) (ok, refused, silent int) {
		c, err := net.ListenPacket("udp", from+":0")
		if err != nil {
			t.Skipf("no %s: %v", from, err)
		}
		defer c.Close()
		dst, _ := net.ResolveUDPAddr("udp", st.srv.Addr("udp"))
		for i := range n {
			msg := "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK-f" + strconv.Itoa(i) +
				"\r\nFrom: <sip:x@example.com>;tag=f\r\nTo: <sip:example.com>\r\nCall-ID: flood-" + strconv.Itoa(i) +
				"\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
			c.WriteTo([]byte(msg), dst)
		}
		buf := make([]byte, 4096)
		for {
			c.SetReadDeadline(time.Now().Add(time.Second)) // until the server has nothing more to say
			m, _, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			switch line, _, _ := strings.Cut(string(buf[:m]), "\r\n"); {
			case strings.HasPrefix(line, "SIP/2.0 200"):
				ok++
			case strings.HasPrefix(line, "SIP/2.0 503") && strings.Contains(string(buf[:m]), "Retry-After: 1"):
				refused++
			}
		}
		return ok, refused, n - ok - refused
	}
	ok, refused, silent := blast("127.0.0.2", 30)
	if ok < 5 || ok > 7 || refused != 5 || silent < 18 {
		t.Errorf("30 OPTIONS at once: %d answered, %d refused, %d unanswered; want the burst of 5 (+1), 5 refused, the rest silent",
			ok, refused, silent)
	}
	if n := testutil.ToFloat64(st.srv.metrics.refused.WithLabelValues("sip.flood.rate")); n != float64(refused) {
		t.Errorf("sip.flood.rate refusals counted %v, want %d", n, refused)
	}
	if ok, _, _ := blast("127.0.0.3", 3); ok != 3 {
		t.Errorf("another address: %d of 3 answered", ok)
	}
}
