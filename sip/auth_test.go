package sip

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/sip/digestauth"
)

func authStack(t *testing.T) *stack {
	return newStack(t, func(c *Config, _ *presence.Config) {
		c.Auth = AuthConfig{
			Enabled: true,
			Digest:  digestauth.Config{Realm: "example.com"},
			Users: []User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw", Algorithms: []string{"sha-256", "MD5"}},
				{Name: "acd", Password: "acd-pw"}},
			Trusted: []string{"acd"},
		}
	})
}

func TestAuth_ChallengesEveryMethodAndAcceptsDigest(t *testing.T) {
	st := authStack(t)
	p := siptest.NewPeer(t)
	for _, method := range []sipmsg.RequestMethod{"REGISTER", "PUBLISH", "SUBSCRIBE"} {
		t.Run(string(method), func(t *testing.T) {
			body, hdrs := "", []string{"Event: presence", "Expires: 600"}
			if method == "PUBLISH" {
				body, hdrs = siptest.PIDF(alice, "t1", "open", ""), append(hdrs, "Content-Type: application/pidf+xml")
			}
			res := p.Do(p.Request(method, alice, "alice", st.srv.Addr("udp"), body, hdrs...))
			if chals := res.GetHeaders("WWW-Authenticate"); res.StatusCode != 401 || len(chals) != 1 ||
				!strings.Contains(chals[0].Value(), "algorithm=MD5") {
				t.Fatalf("unauthenticated: %d with %v, want 401 with MD5 alone (the default)", res.StatusCode, chals)
			}
			res = p.DoAuth(p.Request(method, alice, "alice", st.srv.Addr("udp"), body, hdrs...), "alice", "alice-pw")
			if res.StatusCode/100 != 2 {
				t.Fatalf("authenticated: %d %s", res.StatusCode, res.Reason)
			}
		})
	}
}

// bob's own list offers SHA-256 first, and a client that handles it (sipgo,
// with icholy/digest) registers with it.
func TestAuth_UserWithSHA256(t *testing.T) {
	st := authStack(t)
	p := siptest.NewPeer(t)
	bob := "sip:bob@example.com"
	res := p.Do(p.Request("REGISTER", bob, "bob", st.srv.Addr("udp"), "", "Expires: 600"))
	var algs []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		_, alg, _ := strings.Cut(h.Value(), "algorithm=")
		alg, _, _ = strings.Cut(alg, ",")
		algs = append(algs, alg)
	}
	if res.StatusCode != 401 || !slices.Equal(algs, []string{"SHA-256", "MD5"}) {
		t.Fatalf("bob: %d with %v, want 401 with SHA-256 then MD5", res.StatusCode, algs)
	}
	req := p.Request("REGISTER", bob, "bob", st.srv.Addr("udp"), "", "Expires: 600")
	if res := p.DoAuth(req, "bob", "bob-pw"); res.StatusCode != 200 {
		t.Fatalf("bob answering SHA-256: %d %s", res.StatusCode, res.Reason)
	}
	if h := req.GetHeader("Authorization"); h == nil || !strings.Contains(h.Value(), "algorithm=SHA-256") {
		t.Errorf("the client answered %v, want SHA-256", h)
	}
}

func TestAuth_WrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	st := authStack(t)
	p := siptest.NewPeer(t)
	send := func(user, pw string) *sipmsg.Response {
		return p.DoAuth(p.Request("REGISTER", alice, user, st.srv.Addr("udp"), ""), user, pw)
	}
	wrong, unknown := send("alice", "guess"), send("mallory", "guess")
	if wrong.StatusCode != 401 || unknown.StatusCode != 401 || wrong.Reason != unknown.Reason {
		t.Fatalf("wrong password %d %q, unknown user %d %q", wrong.StatusCode, wrong.Reason, unknown.StatusCode, unknown.Reason)
	}
}

func TestAuth_PublishOnlyOwnPresentityUnlessTrusted(t *testing.T) {
	st := authStack(t)
	p := siptest.NewPeer(t)
	bobURI := "sip:bob@example.com"
	req := func() *sipmsg.Request {
		return p.Request("PUBLISH", bobURI, "alice", st.srv.Addr("udp"), siptest.PIDF(bobURI, "t1", "open", ""),
			"Event: presence", "Content-Type: application/pidf+xml")
	}
	if res := p.DoAuth(req(), "alice", "alice-pw"); res.StatusCode != 403 {
		t.Fatalf("alice publishing for bob: %d, want 403", res.StatusCode)
	}
	if res := p.DoAuth(req(), "acd", "acd-pw"); res.StatusCode != 200 {
		t.Fatalf("trusted acd publishing for bob: %d, want 200", res.StatusCode)
	}
}

// Wrong passwords back off: past max_failures for one user from one
// address, that address gets 403 even with the right password, while the
// right password from another address still works; past
// max_failures_per_source (guessing several users), the address is refused
// for every user. The lockout ends by itself.
func TestAuth_WrongPasswordsBackOff(t *testing.T) {
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.Auth = AuthConfig{Enabled: true, Digest: digestauth.Config{Realm: "example.com"},
			Users: []User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}},
			Guard: GuardConfig{MaxFailures: 5, MaxFailuresPerSource: 8, Lockout: 300 * time.Millisecond}}
	})
	register := func(p *siptest.Peer, user, password string) *sipmsg.Response {
		req := p.Request("REGISTER", "sip:example.com", user, st.srv.Addr("udp"), "", "Expires: 600")
		req.To().Address = sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}
		return p.DoAuth(req, user, password)
	}
	attacker, phone := siptest.NewPeer(t), siptest.NewPeer(t, siptest.Host("127.0.0.2"))
	for i := range 5 {
		if res := register(attacker, "alice", fmt.Sprintf("guess-%d", i)); res.StatusCode != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	refusedBy(t, st, register(attacker, "alice", "alice-pw"), "sip.auth.max_failures", 0)
	if res := register(phone, "alice", "alice-pw"); res.StatusCode != 200 {
		t.Fatalf("alice's own phone at another address: %d, want 200", res.StatusCode)
	}
	// Three more wrong guesses, for bob, make eight from the address.
	for i := range 3 {
		register(attacker, "bob", fmt.Sprintf("guess-%d", i))
	}
	refusedBy(t, st, register(attacker, "bob", "bob-pw"), "sip.auth.max_failures_per_source", 0)
	siptest.WaitFor(t, "the lockout to end", func() bool { return register(attacker, "bob", "bob-pw").StatusCode == 200 })
}
