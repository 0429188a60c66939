package httpapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/internal/siptest"
)

// documentedPaths are the operations the document must describe, whether
// or not this build registers them yet.
var documentedPaths = []string{
	"GET /healthz", "GET /readyz", "GET /openapi.json",
	"GET /v1/availability", "OPTIONS /v1/availability",
	"GET /v1/availability/{group}", "OPTIONS /v1/availability/{group}",
	"GET /v1/availability/stream",
	"POST /v1/context", "GET /v1/context", "OPTIONS /v1/context",
	"GET /v1/agents/me", "PUT /v1/agents/me/state",
	"POST /v1/agents/me/call/hold", "POST /v1/agents/me/call/transfer",
	"POST /v1/calls", "OPTIONS /v1/calls", "GET /v1/calls/{id}", "DELETE /v1/calls/{id}", "OPTIONS /v1/calls/{id}",
	"GET /v1/calls/{id}/events", "POST /v1/calls/{id}/ice-restart", "OPTIONS /v1/calls/{id}/ice-restart",
	"POST /v1/chats", "OPTIONS /v1/chats", "GET /v1/chats/{id}", "DELETE /v1/chats/{id}", "OPTIONS /v1/chats/{id}",
	"POST /v1/chats/{id}/messages", "OPTIONS /v1/chats/{id}/messages", "PUT /v1/chats/{id}/typing",
	"OPTIONS /v1/chats/{id}/typing", "GET /v1/chats/{id}/events",
	"POST /v1/callbacks", "OPTIONS /v1/callbacks", "GET /v1/callbacks/{id}", "DELETE /v1/callbacks/{id}",
	"OPTIONS /v1/callbacks/{id}", "POST /v1/callbacks/{id}/take", "POST /v1/callbacks/{id}/done",
	"GET /v1/phone", "OPTIONS /v1/phone",
	"GET /v1/console", "GET /console", "GET /console.js",
	"GET /v1/supervisor", "GET /v1/supervisor/events", "GET /supervisor", "GET /supervisor.js",
	"GET /widget.js", "GET /", "GET /docs",
}

// oaAgents is a one-agent ACD for the agent API.
type oaAgents struct {
	mu      sync.Mutex
	state   string
	since   time.Time
	offline bool   // its phone is not registered
	reason  string // why away
}

const oaToken, oaAgent = "alice-token", "sip:alice@example.com"

func (a *oaAgents) AgentByToken(token string) (string, bool) { return oaAgent, token == oaToken }

func (a *oaAgents) AgentState(uri string) (string, time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state, a.since, uri == oaAgent
}

func (a *oaAgents) AgentName(string) string { return "Alice" }

func (a *oaAgents) Status(time.Time) []acd.GroupStatus { return nil }

// The same ACD has one supervisor, whose board shows alice and billing.
const oaSupervisorToken = "sam-supervisor-token"

func (a *oaAgents) SupervisorByToken(token string) (string, bool) {
	return "Sam", token == oaSupervisorToken
}

func (a *oaAgents) Board(now time.Time) acd.Board {
	return acd.Board{
		Agents: []acd.AgentBoard{{URI: oaAgent, Name: "Alice", State: "away", Away: "manual", Since: now, Groups: []string{"billing"}}},
		Groups: []acd.GroupBoard{{GroupStatus: billing, OldestWait: 12 * time.Second, Served: 3, Abandoned: 1}},
	}
}

func (a *oaAgents) Agents(time.Time) []acd.AgentStatus {
	return []acd.AgentStatus{{URI: oaAgent, Name: "Alice", State: acd.StateAvailable}}
}

func (a *oaAgents) SetAway(_ context.Context, _ string, away bool, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if away && reason != "" && reason != "lunch" {
		return acd.ErrUnknownReason
	}
	if a.offline && !away {
		return acd.ErrOffline
	}
	a.state, a.since, a.reason = "available", time.Now(), ""
	if away {
		a.state, a.reason = "away", reason
	}
	return nil
}

func (a *oaAgents) AwayReason(string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reason
}

func (a *oaAgents) AwayReasons() []acd.AwayReason {
	return []acd.AwayReason{{ID: "lunch", Name: "Lunch", Activity: "meal"}}
}

// oaDoc is the served document, with a validator over it.
type oaDoc struct {
	raw      map[string]any // as served
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

const oaURL = "https://switchboard.invalid/openapi.json"

// newOADoc checks that body is an OpenAPI 3.1 document whose references all
// resolve, and readies a JSON Schema 2020-12 validator over it. Object
// schemas are made closed (additionalProperties: false) where they do not
// say otherwise, so that a field the server sends but the document lacks
// fails the test too.
func newOADoc(t *testing.T, body []byte) *oaDoc {
	t.Helper()
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	d := &oaDoc{schemas: map[string]*jsonschema.Schema{}}
	var ok bool
	if d.raw, ok = raw.(map[string]any); !ok {
		t.Fatal("openapi.json is not an object")
	}
	if v, _ := d.raw["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi: %q, want 3.1.x", v)
	}
	if d.raw["jsonSchemaDialect"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("jsonSchemaDialect: %v", d.raw["jsonSchemaDialect"])
	}
	info, _ := d.raw["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Fatalf("info needs title and version: %v", info)
	}
	var refs []string
	walk(raw, func(m map[string]any) {
		if r, ok := m["$ref"].(string); ok {
			refs = append(refs, r)
		}
	})
	for _, r := range refs {
		if _, err := d.at(r); err != nil {
			t.Errorf("$ref %s: %v", r, err)
		}
	}
	strict, _ := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	walk(strict, func(m map[string]any) {
		if _, ok := m["properties"].(map[string]any); ok && m["additionalProperties"] == nil && m["unevaluatedProperties"] == nil {
			m["additionalProperties"] = false
		}
	})
	d.compiler = jsonschema.NewCompiler()
	d.compiler.DefaultDraft(jsonschema.Draft2020)
	d.compiler.AssertFormat()
	if err := d.compiler.AddResource(oaURL, strict); err != nil {
		t.Fatal(err)
	}
	components, _ := d.raw["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	for name := range schemas { // every component schema is a valid 2020-12 schema
		d.schema(t, "#/components/schemas/"+name)
	}
	return d
}

// walk calls f on every object in v, depth first.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, e := range v {
			walk(e, f)
		}
	case []any:
		for _, e := range v {
			walk(e, f)
		}
	}
}

// pointer is a JSON Pointer (RFC 6901) fragment of tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	b.WriteString("#")
	for _, tok := range tokens {
		b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

// at returns the value a local reference ("#/a/b") names.
func (d *oaDoc) at(ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	var v any = d.raw
	for _, tok := range strings.Split(p, "/")[1:] {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := v.(map[string]any)
		if !ok || m[tok] == nil {
			return nil, fmt.Errorf("nothing at %q", tok)
		}
		v = m[tok]
	}
	return v, nil
}

// deref follows a Reference Object, returning the object and its pointer.
func (d *oaDoc) deref(t *testing.T, ptr string) (map[string]any, string) {
	t.Helper()
	for range 10 {
		v, err := d.at(ptr)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			t.Fatalf("%s: not an object (%v)", ptr, err)
		}
		ref, isRef := m["$ref"].(string)
		if !isRef {
			return m, ptr
		}
		ptr = ref
	}
	t.Fatalf("%s: reference loop", ptr)
	return nil, ""
}

func (d *oaDoc) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	if s := d.schemas[ptr]; s != nil {
		return s
	}
	// The pointer goes into a URL fragment: percent-encode what needs it ({, }).
	s, err := d.compiler.Compile(oaURL + (&url.URL{Fragment: ptr[1:]}).String())
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	d.schemas[ptr] = s
	return s
}

// validate checks v, a JSON document, against the schema at ptr.
func (d *oaDoc) validate(t *testing.T, ptr string, v []byte, what string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(v))
	if err != nil {
		t.Errorf("%s: not JSON: %v: %.200s", what, err, v)
		return
	}
	if err := d.schema(t, ptr).Validate(inst); err != nil {
		t.Errorf("%s does not match %s: %v\nbody: %.500s", what, ptr, err, v)
	}
}

// response checks a real response to method path (as the document writes
// it, with {parameters}) against the document: the status is documented,
// required headers are present and every documented header present
// matches its schema, the media type is documented, and a JSON body
// matches its schema.
func (d *oaDoc) response(t *testing.T, method, path string, res *http.Response, body []byte) {
	t.Helper()
	what := fmt.Sprintf("%s %s %d", method, path, res.StatusCode)
	if _, err := d.at(pointer("paths", path, strings.ToLower(method))); err != nil {
		t.Errorf("%s: operation not documented", what)
		return
	}
	ptr := pointer("paths", path, strings.ToLower(method), "responses", strconv.Itoa(res.StatusCode))
	if _, err := d.at(ptr); err != nil {
		t.Errorf("%s: status not documented", what)
		return
	}
	resp, ptr := d.deref(t, ptr)
	headers, _ := resp["headers"].(map[string]any)
	for name := range headers {
		h, hptr := d.deref(t, ptr+pointer("headers", name)[1:])
		value := res.Header.Get(name)
		if value == "" {
			if h["required"] == true {
				t.Errorf("%s: required header %s missing", what, name)
			}
			continue
		}
		if h["schema"] != nil {
			inst, _ := json.Marshal(value)
			if sch, _ := h["schema"].(map[string]any); sch["type"] == "integer" {
				inst = []byte(value)
			}
			d.validate(t, hptr+"/schema", inst, what+" header "+name)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if len(body) != 0 {
			t.Errorf("%s: a body the document does not describe: %.200s", what, body)
		}
		return
	}
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || content[mt] == nil {
		t.Errorf("%s: Content-Type %q not documented (%v)", what, res.Header.Get("Content-Type"), slices.Sorted(maps.Keys(content)))
		return
	}
	if mt == "application/json" {
		d.validate(t, ptr+pointer("content", mt, "schema")[1:], body, what)
	}
}

// oaClient does not reuse connections (shutdown waits for idle ones) and
// leaves Accept-Encoding alone.
var oaClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}

// oaCall sends one request and returns the response with its body,
// gunzipped when it came gzip-encoded.
func oaCall(t *testing.T, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var res *http.Response
	siptest.WaitFor(t, "web server up", func() bool {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		var err error
		res, err = oaClient.Do(req)
		return err == nil
	})
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("%s %s: gzip: %v", method, url, err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return res, b
}

// startDocumented runs the server with every dependency, so that every
// route is registered.
func startDocumented(t *testing.T, ready Ready) (*Server, string, *oaAgents) {
	t.Helper()
	g := &groups{}
	g.set(billing,
		acd.GroupStatus{ID: "support", Name: "Technical support", Skill: "support", Open: true, Accepting: true,
			Available: 2, Busy: 1, EWT: 20 * time.Second, Band: "under 1 minute"},
		acd.GroupStatus{ID: "sales", Name: "Sales", Skill: "sales"})
	web := WebConfig{RefreshInterval: time.Second, AllowedOrigins: []string{"https://shop.example.com"}, CookieMaxAge: time.Hour}
	snaps, err := NewSnapshots(g.source, web.RefreshInterval)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go snaps.Run(ctx)
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_test_total", Help: "test"}))
	agents := &oaAgents{state: "offline", since: time.Now()}
	s, err := New(Config{Addr: "127.0.0.1:0"}, Deps{Registerer: reg, Ready: ready,
		Agents: agents, Supervisors: agents, Snapshots: snaps, Web: web, CookieKey: []byte("test-key")},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go s.Run()
	t.Cleanup(func() {
		cancel() // ends streams, then the server
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		s.Shutdown(sctx)
	})
	return s, "http://" + s.Addr(), agents
}

// openAPIPath writes a Hertz route path as OpenAPI does: :name and *name
// become {name}.
func openAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

func TestOpenAPI_DocumentsEveryRouteAndMatchesRealResponses(t *testing.T) {
	var notReady error
	var readyMu sync.Mutex
	s, base, agents := startDocumented(t, func() error { readyMu.Lock(); defer readyMu.Unlock(); return notReady })

	res, body := oaCall(t, "GET", base+"/openapi.json", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc := newOADoc(t, body)
	doc.response(t, "GET", "/openapi.json", res, body)
	res, body = oaCall(t, "GET", base+"/openapi.json", "", "If-None-Match", res.Header.Get("ETag"))
	if res.StatusCode != 304 {
		t.Errorf("GET /openapi.json If-None-Match: %d", res.StatusCode)
	}
	doc.response(t, "GET", "/openapi.json", res, body)

	// Every operation named in the brief, and every route the engine has.
	registered := map[string]bool{}
	for _, r := range s.h.Routes() {
		op := r.Method + " " + openAPIPath(r.Path)
		registered[op] = true
		if _, err := doc.at(pointer("paths", openAPIPath(r.Path), strings.ToLower(r.Method))); err != nil {
			t.Errorf("route %s (%s) is not in openapi.json", op, r.Path)
		}
	}
	for _, op := range documentedPaths {
		method, path, _ := strings.Cut(op, " ")
		if _, err := doc.at(pointer("paths", path, strings.ToLower(method))); err != nil {
			t.Errorf("%s is not in openapi.json", op)
		}
		if !registered[op] {
			t.Logf("%s is documented but not registered in this build", op)
		}
	}

	// Every registered GET without parameters, as a plain client sees it:
	// 200, unless it needs credentials.
	for op := range registered {
		method, path, _ := strings.Cut(op, " ")
		if method != "GET" || strings.Contains(path, "{") || path == "/v1/availability/stream" {
			continue
		}
		res, body := oaCall(t, "GET", base+path, "")
		if _, secured := doc.at(pointer("paths", path, "get", "security")); res.StatusCode != 200 && secured != nil {
			t.Errorf("%s: %d %.200s", op, res.StatusCode, body)
		}
		doc.response(t, method, path, res, body)
	}

	check := func(method, path, url, body string, want int, hdr ...string) *http.Response {
		t.Helper()
		res, b := oaCall(t, method, base+url, body, hdr...)
		if res.StatusCode != want {
			t.Errorf("%s %s: %d, want %d: %.200s", method, url, res.StatusCode, want, b)
		}
		doc.response(t, method, path, res, b)
		return res
	}
	const origin = "https://shop.example.com"
	res = check("GET", "/v1/availability", "/v1/availability", "", 200, "Origin", origin)
	check("GET", "/v1/availability", "/v1/availability", "", 304, "If-None-Match", res.Header.Get("ETag"))
	check("GET", "/v1/availability", "/v1/availability", "", 200, "Accept-Encoding", "gzip")
	check("OPTIONS", "/v1/availability", "/v1/availability", "", 204, "Origin", origin, "Access-Control-Request-Method", "GET")
	for _, g := range []string{"billing", "support", "sales"} {
		res = check("GET", "/v1/availability/{group}", "/v1/availability/"+g, "", 200, "Origin", origin)
	}
	check("GET", "/v1/availability/{group}", "/v1/availability/sales", "", 304, "If-None-Match", res.Header.Get("ETag"))
	check("GET", "/v1/availability/{group}", "/v1/availability/nope", "", 404)
	check("OPTIONS", "/v1/availability/{group}", "/v1/availability/billing", "", 204, "Origin", origin)

	readyMu.Lock()
	notReady = fmt.Errorf("shutting down")
	readyMu.Unlock()
	check("GET", "/readyz", "/readyz", "", 503)

	bearer := "Bearer " + oaToken
	check("GET", "/v1/agents/me", "/v1/agents/me", "", 200, "Authorization", bearer)
	check("GET", "/v1/supervisor", "/v1/supervisor", "", 200, "Authorization", "Bearer "+oaSupervisorToken)
	check("GET", "/v1/supervisor", "/v1/supervisor", "", 401, "Authorization", bearer)
	check("GET", "/v1/agents/me", "/v1/agents/me", "", 401)
	check("GET", "/v1/agents/me", "/v1/agents/me", "", 401, "Authorization", "Bearer wrong")
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"away"}`, 200, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"available"}`, 200, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":`, 400, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"asleep"}`, 400, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"away","reason":"siesta"}`, 400, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"away","reason":"lunch"}`, 200, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"away"}`, 401)
	agents.mu.Lock()
	agents.offline = true
	agents.mu.Unlock()
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"available"}`, 409, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"away"}`, 200, "Authorization", bearer)
	check("PUT", "/v1/agents/me/state", "/v1/agents/me/state", `{"state":"away"}`, 415, "Authorization", bearer,
		"Content-Type", "application/x-www-form-urlencoded") // curl -d without -H
	check("POST", "/v1/context", "/v1/context", `{"page":"/"}`, 415, "Content-Type", "text/plain")

	if registered["POST /v1/context"] {
		res := check("POST", "/v1/context", "/v1/context", `{"group":"billing","language":"en-GB","page":"/pricing"}`, 200, "Origin", origin)
		var cookie string
		for _, c := range res.Cookies() {
			if c.Name == "sb_ctx" {
				cookie = c.Name + "=" + c.Value
			}
		}
		if cookie == "" {
			t.Errorf("POST /v1/context: no sb_ctx cookie: %q", res.Header.Values("Set-Cookie"))
		}
		check("POST", "/v1/context", "/v1/context", `{"page":`, 400)
		check("POST", "/v1/context", "/v1/context", `{"group":"nope"}`, 400)
		if registered["GET /v1/context"] {
			res, body := oaCall(t, "GET", base+"/v1/context", "", "Cookie", cookie)
			doc.response(t, "GET", "/v1/context", res, body)
			if !strings.Contains(string(body), `"/pricing"`) {
				t.Errorf("GET /v1/context with the cookie POST set: %d %s", res.StatusCode, body)
			}
		}
	}
	if registered["OPTIONS /v1/context"] {
		check("OPTIONS", "/v1/context", "/v1/context", "", 204, "Origin", origin, "Access-Control-Request-Method", "POST")
	}
	if registered["GET /v1/availability/stream"] {
		oaStream(t, doc, base)
	}
}

// oaStream reads the first event of the availability stream and checks it
// against the document.
func oaStream(t *testing.T, doc *oaDoc, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/availability/stream", nil)
	res, err := oaClient.Do(req)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	defer res.Body.Close()
	doc.response(t, "GET", "/v1/availability/stream", res, nil)
	events, _ := doc.at(pointer("paths", "/v1/availability/stream", "get", "responses", "200", "content", "text/event-stream", "x-sse-events"))
	sc := bufio.NewScanner(res.Body)
	var name string
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "event: "); ok {
			name = n
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if _, known := events.(map[string]any)[name]; !known {
				t.Fatalf("stream: event %q is not documented", name)
			}
			doc.validate(t, pointer("paths", "/v1/availability/stream", "get", "responses", "200", "content",
				"text/event-stream", "x-sse-events", name), []byte(data), "stream event "+name)
			return
		}
	}
	t.Fatalf("stream ended without an event: %v", sc.Err())
}
