package digestauth

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/icholy/digest"
)

const (
	testRealm = "switchboard.test"
	testURI   = "sip:switchboard.test"
)

// userMap is a Credentials that counts lookups.
type userMap struct {
	users   map[string]string
	lookups atomic.Int64
}

func (m *userMap) Password(user string) (string, bool) {
	m.lookups.Add(1)
	p, ok := m.users[user]
	return p, ok
}

func newUsers() *userMap {
	return &userMap{users: map[string]string{"alice": "wonderland", "bob": "builder"}}
}

func newAuth(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = testRealm
	}
	a, err := New(cfg, newUsers(), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// authorize answers challenge chal like a client would, using icholy/digest.
func authorize(t testing.TB, chal string, o digest.Options) string {
	t.Helper()
	c, err := digest.ParseChallenge(chal)
	if err != nil {
		t.Fatalf("ParseChallenge(%q): %v", chal, err)
	}
	cred, err := digest.Digest(c, o)
	if err != nil {
		t.Fatalf("Digest: %v", err)
	}
	return cred.String()
}

func opts(user, pass string, nc int) digest.Options {
	return digest.Options{Method: "REGISTER", URI: testURI, Username: user, Password: pass, Count: nc, Cnonce: "0a4f113b"}
}

// editCred parses header, applies f and re-renders it.
func editCred(t testing.TB, header string, f func(*digest.Credentials)) string {
	t.Helper()
	c, err := digest.ParseCredentials(header)
	if err != nil {
		t.Fatal(err)
	}
	f(c)
	return c.String()
}

// algUsers gives bob a list of his own: SHA-256 only.
type algUsers struct{ *userMap }

func (algUsers) Algorithms(user string) []string {
	if user == "bob" {
		return []string{AlgSHA256}
	}
	return nil
}

// The default challenges MD5 alone, which MD5-only phones need; a user with
// a list of its own is challenged with it, and verified against it only.
func TestChallenges_DefaultMD5AndPerUser(t *testing.T) {
	a, err := New(Config{Realm: testRealm}, algUsers{newUsers()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	algs := func(user string) (out []string) {
		for _, h := range a.Challenges(user, false) {
			c, err := digest.ParseChallenge(h)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c.Algorithm)
		}
		return out
	}
	for user, want := range map[string][]string{"alice": {"MD5"}, "bob": {"SHA-256"}, "mallory": {"MD5"}} {
		if got := algs(user); !slices.Equal(got, want) {
			t.Errorf("%s is offered %v, want %v", user, got, want)
		}
	}
	sha := a.Challenges("bob", false)[0]
	if user, err := a.Verify("REGISTER", authorize(t, sha, opts("bob", "builder", 1))); err != nil || user != "bob" {
		t.Errorf("bob with SHA-256: %q, %v", user, err)
	}
	md5 := a.Challenges("alice", false)[0]
	if _, err := a.Verify("REGISTER", authorize(t, md5, opts("bob", "builder", 1))); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("bob answering with MD5, which he is not offered: %v", err)
	}
	if user, err := a.Verify("REGISTER", authorize(t, md5, opts("alice", "wonderland", 1))); err != nil || user != "alice" {
		t.Errorf("alice with MD5: %q, %v", user, err)
	}
}

func TestChallenges(t *testing.T) {
	a := newAuth(t, Config{Algorithms: []string{"SHA-256", "MD5"}})
	for _, stale := range []bool{false, true} {
		chals := a.Challenges("alice", stale)
		if len(chals) != 2 {
			t.Fatalf("got %d challenges, want 2", len(chals))
		}
		var nonce string
		for i, want := range []string{"SHA-256", "MD5"} {
			c, err := digest.ParseChallenge(chals[i])
			if err != nil {
				t.Fatal(err)
			}
			if c.Algorithm != want || c.Realm != testRealm || c.Stale != stale || !c.SupportsQOP("auth") || len(c.Nonce) != nonceLen {
				t.Errorf("challenge %d = %q", i, chals[i])
			}
			if i > 0 && c.Nonce != nonce {
				t.Errorf("challenges do not share a nonce")
			}
			nonce = c.Nonce
		}
	}
	if first, second := a.Challenges("alice", false)[0], a.Challenges("alice", false)[0]; first == second {
		t.Error("nonces repeat")
	}
}

func TestVerifyInterop(t *testing.T) {
	for _, algs := range [][]string{nil, {"MD5"}, {"sha-256"}} {
		a := newAuth(t, Config{Algorithms: algs})
		for i := range a.algs {
			chal := a.Challenges("alice", false)[i] // fresh nonce: challenges share one
			h := authorize(t, chal, digest.Options{Method: "REGISTER", URI: testURI, Username: "alice", Password: "wonderland"})
			user, err := a.Verify("REGISTER", h)
			if err != nil || user != "alice" {
				t.Errorf("%v: Verify(%q) = %q, %v", algs, h, user, err)
			}
		}
	}
}

func TestVerifyAbsentAlgorithmMeansMD5(t *testing.T) {
	a := newAuth(t, Config{Algorithms: []string{"MD5"}})
	chal := strings.Replace(a.Challenges("alice", false)[0], ", algorithm=MD5", "", 1)
	h := authorize(t, chal, opts("alice", "wonderland", 1))
	if strings.Contains(h, "algorithm") {
		t.Fatalf("header has algorithm: %q", h)
	}
	if user, err := a.Verify("REGISTER", h); err != nil || user != "alice" {
		t.Errorf("Verify = %q, %v", user, err)
	}
	// Not accepted when MD5 is not offered.
	s := newAuth(t, Config{Algorithms: []string{"SHA-256"}})
	chal = strings.Replace(s.Challenges("alice", false)[0], ", algorithm=SHA-256", "", 1)
	if _, err := s.Verify("REGISTER", authorize(t, chal, opts("alice", "wonderland", 1))); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("MD5 not offered: err = %v", err)
	}
}

func TestVerifyNonceCount(t *testing.T) {
	a := newAuth(t, Config{})
	chal := a.Challenges("alice", false)[0]
	verify := func(user, pass string, nc int) error {
		_, err := a.Verify("REGISTER", authorize(t, chal, opts(user, pass, nc)))
		return err
	}
	for _, nc := range []int{1, 2, 5} {
		if err := verify("alice", "wonderland", nc); err != nil {
			t.Fatalf("nc=%d: %v", nc, err)
		}
	}
	for _, nc := range []int{5, 2} {
		if err := verify("alice", "wonderland", nc); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("replayed nc=%d: err = %v", nc, err)
		}
	}
	if err := verify("alice", "wonderland", 3); err != nil { // overtaken by 5: once
		t.Errorf("nc=3 after 5: %v", err)
	}
	if err := verify("alice", "wonderland", 3); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("replayed nc=3: err = %v", err)
	}
	// Counters are per user: bob may use the same nonce from nc=1.
	if err := verify("bob", "builder", 1); err != nil {
		t.Errorf("bob nc=1: %v", err)
	}
	// Exact replay of a header.
	h := authorize(t, chal, opts("alice", "wonderland", 9))
	if _, err := a.Verify("REGISTER", h); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify("REGISTER", h); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("replay: err = %v", err)
	}
}

func TestVerifyConcurrentReplay(t *testing.T) {
	a := newAuth(t, Config{})
	h := authorize(t, a.Challenges("alice", false)[0], opts("alice", "wonderland", 1))
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := a.Verify("REGISTER", h); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Errorf("%d concurrent successes, want 1", ok.Load())
	}
}

func TestVerifyWrongPasswordUnknownUser(t *testing.T) {
	users := newUsers()
	a, err := New(Config{Realm: testRealm}, users, nil)
	if err != nil {
		t.Fatal(err)
	}
	chal := a.Challenges("alice", false)[0]
	_, errWrong := a.Verify("REGISTER", authorize(t, chal, opts("alice", "rabbit", 1)))
	_, errUnknown := a.Verify("REGISTER", authorize(t, chal, opts("mallory", "rabbit", 1)))
	if errWrong != ErrBadCredentials || errUnknown != ErrBadCredentials {
		t.Errorf("wrong password: %v, unknown user: %v; want both exactly ErrBadCredentials", errWrong, errUnknown)
	}
	if users.lookups.Load() != 2 {
		t.Errorf("lookups = %d, want 2", users.lookups.Load())
	}
	// A wrong method changes H(A2).
	if _, err := a.Verify("INVITE", authorize(t, chal, opts("alice", "wonderland", 1))); err != ErrBadCredentials {
		t.Errorf("wrong method: err = %v", err)
	}
}
