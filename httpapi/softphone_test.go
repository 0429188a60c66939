package httpapi

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/calls"
)

// oaSoftphones is a stand-in for media.Softphones: an offer "full" is
// refused as over media.max_calls, "bad" as a bad offer.
type oaSoftphones struct {
	mu        sync.Mutex
	connected map[string]bool
}

func (s *oaSoftphones) Connect(agent, offer string) (string, error) {
	switch offer {
	case "full":
		return "", fmt.Errorf("%w: media.max_calls is 1", calls.ErrMediaFull)
	case "bad":
		return "", fmt.Errorf("%w: no audio in the offer", calls.ErrBadOffer)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected[agent] = true
	return "v=0 answer", nil
}

func (s *oaSoftphones) Disconnect(agent string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := s.connected[agent]
	delete(s.connected, agent)
	return had
}

func (s *oaSoftphones) Connected(agent string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected[agent]
}

// The softphone routes answer as openapi.json says: connect with the
// agent's token, the agent's view telling it connected, refusals, and
// turning it off.
func TestSoftphone_RoutesMatchTheDocument(t *testing.T) {
	phones := &oaSoftphones{connected: map[string]bool{}}
	s := serve(t, Config{Addr: "127.0.0.1:0"}, Deps{Registerer: prometheus.NewRegistry(), Ready: func() error { return nil },
		Agents: &oaAgents{state: "offline", since: time.Now()}, Softphones: phones})
	base := "http://" + s.Addr()
	res, body := oaCall(t, "GET", base+"/openapi.json", "")
	doc := newOADoc(t, body)
	doc.response(t, "GET", "/openapi.json", res, body)
	const path = "/v1/agents/me/softphone"
	auth := []string{"Authorization", "Bearer " + oaToken}
	check := func(method, url, body string, want int, hdr ...string) string {
		t.Helper()
		res, b := oaCall(t, method, base+url, body, hdr...)
		if res.StatusCode != want {
			t.Errorf("%s %s %s: %d, want %d: %.200s", method, url, body, res.StatusCode, want, b)
		}
		doc.response(t, method, url, res, b)
		return string(b)
	}
	if b := check("GET", "/v1/agents/me", "", 200, auth...); !strings.Contains(b, `"softphone":false`) {
		t.Errorf("agent view before: %s", b)
	}
	check("POST", path, `{"sdp":"v=0 offer"}`, 401)
	check("POST", path, `{"sdp":"v=0 offer"}`, 201, auth...)
	if b := check("GET", "/v1/agents/me", "", 200, auth...); !strings.Contains(b, `"softphone":true`) {
		t.Errorf("agent view with the softphone: %s", b)
	}
	check("POST", path, `{}`, 400, auth...)
	check("POST", path, `{"sdp":"bad"}`, 400, auth...)
	check("POST", path, `{"sdp":`, 400, auth...)
	check("POST", path, `{"sdp":"full"}`, 503, auth...)
	check("POST", path, `{"sdp":"x"}`, 415, append(auth, "Content-Type", "text/plain")...)
	check("DELETE", path, "", 204, auth...)
	check("DELETE", path, "", 404, auth...)
	check("DELETE", path, "", 401)
}
