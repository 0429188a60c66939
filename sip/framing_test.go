package sip

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

// streamAnswer reads the status code of the next response on a stream.
func streamAnswer(t *testing.T, r *bufio.Reader, c net.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(siptest.Wait))
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	length := 0
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if h == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(h, "Content-Length: "); ok {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	io.ReadFull(r, make([]byte, length))
	f := strings.Fields(line)
	code, _ := strconv.Atoi(f[1])
	return code
}

// Over TCP the torture messages get the same answers as over UDP, one
// after the other on one connection: a refused message does not end the
// stream, as Content-Length still frames it.
func TestTorture_TCP(t *testing.T) {
	st := newStack(t, nil)
	c, err := net.Dial("tcp", st.srv.Addr("tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for _, tc := range tortureCases {
		switch {
		case tc.auth, tc.answers[0] == 0, tc.name == "dblreq", tc.name == "clerr", tc.name == "ncl", tc.name == "mcl01":
			continue // a challenge, responses, and what frames differently on a stream
		}
		msg := strings.ReplaceAll(string(tortureMessage(t, tc.name, c.LocalAddr().String())), "SIP/2.0/UDP", "SIP/2.0/TCP")
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if got := streamAnswer(t, r, c); !contains(tc.answers, got) {
			t.Errorf("%s: answer %d, want one of %v", tc.name, got, tc.answers)
		}
	}
}

// A message that does not arrive whole within message_timeout closes the
// connection, also when its bytes keep coming one by one, and so does a
// connection that never sends a first message; one that is idle between
// messages stays open.
func TestFraming_MessageTimeout(t *testing.T) {
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.Connections = ConnConfig{MessageTimeout: 300 * time.Millisecond}
	})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", st.srv.Addr("tcp"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closed := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(siptest.Wait))
		_, err := c.Read(make([]byte, 512))
		return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
	}
	if !closed(dial()) {
		t.Error("a connection that sent nothing stayed open")
	}
	drip := dial()
	msg := "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-drip\r\n"
	done := make(chan struct{})
	go func() { // a byte every 50 ms, about 5 s in all, until the server closes
		defer close(done)
		for i := 0; i < len(msg); i++ {
			if _, err := drip.Write([]byte{msg[i]}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if !closed(drip) {
		t.Error("a message dripped byte by byte kept its connection open")
	}
	<-done
	idle := dial()
	probe := "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP " + idle.LocalAddr().String() +
		";branch=z9hG4bK-idle\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:example.com>\r\n" +
		"Call-ID: idle-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	idle.Write([]byte(probe))
	r := bufio.NewReader(idle)
	if code := streamAnswer(t, r, idle); code != 200 {
		t.Fatalf("OPTIONS: %d", code)
	}
	idle.SetReadDeadline(time.Now().Add(3 * 300 * time.Millisecond))
	if _, err := r.ReadByte(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an idle connection between messages: %v, want it kept open", err)
	}
	idle.Write([]byte(strings.ReplaceAll(probe, "idle-1", "idle-2")))
	if code := streamAnswer(t, r, idle); code != 200 {
		t.Fatalf("second OPTIONS: %d", code)
	}
}

// A Content-Length past the largest message, or one that cannot frame the
// stream, gets its answer and the connection closes.
func TestFraming_Unframeable(t *testing.T) {
	st := newStack(t, nil)
	for _, tc := range []struct {
		length string
		want   int
	}{{"9999999", 513}, {"-1", 400}, {"12, 13", 400}} {
		c, err := net.Dial("tcp", st.srv.Addr("tcp"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP " + c.LocalAddr().String() +
			";branch=z9hG4bK-big\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:example.com>\r\nCall-ID: big\r\n" +
			"CSeq: 1 OPTIONS\r\nContent-Length: " + tc.length + "\r\n\r\n"))
		r := bufio.NewReader(c)
		if code := streamAnswer(t, r, c); code != tc.want {
			t.Errorf("Content-Length %s: %d, want %d", tc.length, code, tc.want)
		}
		c.SetReadDeadline(time.Now().Add(siptest.Wait))
		if _, err := r.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("Content-Length %s: connection not closed: %v", tc.length, err)
		}
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}
