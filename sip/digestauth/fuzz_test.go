package digestauth

import (
	"errors"
	"testing"
	"time"
)

// fuzzKey is fixed so that nonces in the seed corpus
// (testdata/fuzz/FuzzVerify) carry valid signatures; they are expired,
// which exercises the stale path.
var fuzzKey = []byte("switchboard-digestauth-fuzz-key!")

func FuzzVerify(f *testing.F) {
	a, err := New(Config{Realm: testRealm, NonceTTL: time.Hour}, newUsers(), fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	// A currently valid header, so the success path is reachable.
	f.Add(authorize(f, a.Challenges("alice", false)[0], opts("alice", "wonderland", 1)))
	f.Fuzz(func(t *testing.T, h string) {
		user, err := a.Verify("REGISTER", h)
		switch {
		case err == nil:
			if user != "alice" && user != "bob" {
				t.Fatalf("authenticated unexpected user %q", user)
			}
		case err == ErrNoCredentials, err == ErrStaleNonce, errors.Is(err, ErrBadCredentials):
			if user != "" {
				t.Fatalf("user %q returned with error %v", user, err)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{AlgSHA256, AlgMD5} {
		for _, user := range []string{"alice", "mallory"} {
			b.Run(alg+"/"+user, func(b *testing.B) {
				a := newAuth(b, Config{Algorithms: []string{alg}})
				chal := a.Challenges("alice", false)[0]
				headers := make([]string, 1024) // nc 1..1024 on one nonce
				for i := range headers {
					headers[i] = authorize(b, chal, opts(user, "wonderland", i+1))
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i == len(headers) { // forget the counts so nc=1 is fresh again
						b.StopTimer()
						a.replay = newReplayCache(maxReplayEntries)
						i = 0
						b.StartTimer()
					}
					_, err := a.Verify("REGISTER", headers[i])
					if (err != nil) == (user == "alice") {
						b.Fatalf("Verify: %v", err)
					}
					i++
				}
			})
		}
	}
}
