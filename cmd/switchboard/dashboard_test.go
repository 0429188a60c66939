package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/calltest"
)

// dashboardPath is the Grafana dashboard shipped beside the binary.
const dashboardPath = "../../deploy/grafana/switchboard.json"

// promqlWords are PromQL's aggregations (which may come before their
// parenthesis: sum by (x) (...)), keywords and modifiers: never metric
// names. Functions are known by the parenthesis after them.
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "count": true, "group": true, "stddev": true,
	"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true,
	"limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
}

// metricNames returns the metric names expr reads: identifiers that are
// not PromQL's own words nor called as functions, outside label matchers
// ({...}), ranges ([...]), strings and the label lists of by, without,
// on, ignoring, group_left and group_right. Histograms' _bucket, _sum and
// _count series name their histogram.
func metricNames(expr string) []string {
	var names []string
	isStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	skipTo := func(i int, end byte) int { // from an opening character to past its end
		for i++; i < len(expr) && expr[i] != end; i++ {
			if expr[i] == '"' || expr[i] == '\'' {
				q := expr[i]
				for i++; i < len(expr) && expr[i] != q; i++ {
					if expr[i] == '\\' {
						i++
					}
				}
			}
		}
		return i + 1
	}
	labelList := false // the next parenthesis lists labels
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '{':
			i = skipTo(i, '}')
		case c == '[':
			i = skipTo(i, ']')
		case c == '"' || c == '\'' || c == '`':
			i = skipTo(i, c)
		case c == '(' && labelList:
			i, labelList = skipTo(i, ')'), false
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isPart(expr[i]) || expr[i] == '.') { // 0.99, 1e3, 5m
				i++
			}
		case isStart(c):
			j := i
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			word := expr[i:j]
			k := j
			for k < len(expr) && expr[k] == ' ' {
				k++
			}
			switch lower := strings.ToLower(word); {
			case lower == "by" || lower == "without" || lower == "on" || lower == "ignoring" ||
				lower == "group_left" || lower == "group_right":
				labelList = true
			case promqlWords[lower]:
			case k < len(expr) && expr[k] == '(': // a function or an aggregation
			default:
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					word = strings.TrimSuffix(word, suffix)
				}
				names = append(names, word)
			}
			i = j
		default:
			i++
		}
	}
	return names
}

func TestMetricNames_Tokenizer(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.99, sum by (le, route) (rate(switchboard_http_request_duration_seconds_bucket{route!="x"}[$__rate_interval])))`: {"switchboard_http_request_duration_seconds"},
		`sum by (group) (rate(a_total{group=~"$group"}[5m])) / (sum by (group) (rate(a_total[5m])) + b_total)`:                                {"a_total", "a_total", "b_total"},
		`max by (group, state) (switchboard_acd_group_state) == 1`:                                                                            {"switchboard_acd_group_state"},
		`sum by (class) (label_replace(rate(x_total[1m]), "class", "${1}xx", "status", "(.).."))`:                                             {"x_total"},
		`go_goroutines and on (instance) up offset 5m`:                                                                                        {"go_goroutines", "up"},
		`rate(switchboard_store_batch_size_count[1m]) * 1e3`:                                                                                  {"switchboard_store_batch_size"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", expr, got, want)
		}
	}
}

// dashboardMetrics returns every metric name the dashboard's panels read,
// with the panels reading it.
func dashboardMetrics(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string                   `json:"title"`
		Targets []struct{ Expr string }  `json:"targets"`
		Panels  []json.RawMessage        `json:"panels"`
		Data    map[string]any           `json:"datasource"`
		Grid    struct{ W, H, X, Y int } `json:"gridPos"`
	}
	var dash struct {
		Inputs []struct{ Name string } `json:"__inputs"`
		Panels []panel                 `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	if len(dash.Inputs) != 1 || dash.Inputs[0].Name != "DS_PROMETHEUS" {
		t.Errorf("__inputs %+v, want the one data source DS_PROMETHEUS", dash.Inputs)
	}
	used := map[string][]string{}
	for _, p := range dash.Panels {
		if len(p.Panels) > 0 {
			t.Errorf("row %q holds panels: keep rows expanded, their panels at the top level", p.Title)
		}
		for _, tg := range p.Targets {
			if uid, _ := p.Data["uid"].(string); uid != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: data source %v, want ${DS_PROMETHEUS}", p.Title, p.Data)
			}
			names := metricNames(tg.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: no metric in %q", p.Title, tg.Expr)
			}
			for _, n := range names {
				if !slices.Contains(used[n], p.Title) {
					used[n] = append(used[n], p.Title)
				}
			}
		}
	}
	return used
}

// exportedMetrics returns the metric families /metrics names in its TYPE
// lines (printed with HELP once a family has a series, before any sample
// of a labelled one), by type.
func exportedMetrics(t *testing.T, p *proc) map[string]string {
	t.Helper()
	res, err := http.Get("http://" + p.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	types := map[string]string{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return types
}

// Every metric the Grafana dashboard reads is one switchboard exports,
// once a little traffic made its labelled series: an agent registers
// (REGISTER, and the ACD's PUBLISHes of its groups), a visitor chats with
// it and leaves, a request is refused by http.max_body_bytes.
func TestDashboard_EveryMetricItReadsIsExported(t *testing.T) {
	used := dashboardMetrics(t)
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	base := "http://" + p.HTTP
	status, body := postJSON(t, "POST", base+"/v1/chats", map[string]string{"group": "billing", "text": "hello"})
	if status != http.StatusCreated {
		t.Fatalf("POST /v1/chats: %d %s", status, body)
	}
	var chat struct {
		ID string `json:"chat_id"`
	}
	json.Unmarshal(body, &chat)
	nextPage(t, alice, "text/plain") // who writes
	nextPage(t, alice, "text/plain") // hello
	if status, _ := postJSON(t, "DELETE", base+"/v1/chats/"+chat.ID, nil); status != 204 {
		t.Fatalf("DELETE chat: %d", status)
	}
	if status, _ := postJSON(t, "POST", base+"/v1/calls", map[string]string{"sdp": strings.Repeat("x", 100<<10)}); status != 413 {
		t.Errorf("a body of 100 KiB: %d, want 413", status)
	}
	waitMetric(t, p, `switchboard_chats_ended_total{reason="visitor-left"}`, equals(1))
	waitMetric(t, p, `switchboard_acd_served_total{group="billing"}`, equals(1))

	exported := exportedMetrics(t, p)
	var missing []string
	for name, panels := range used {
		if _, ok := exported[name]; !ok {
			missing = append(missing, name+" (panels: "+strings.Join(panels, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("the dashboard reads %s, which switchboard does not export", m)
	}
	for _, h := range []string{"switchboard_http_request_duration_seconds", "switchboard_sip_request_duration_seconds",
		"switchboard_sip_notify_duration_seconds", "switchboard_store_commit_duration_seconds", "switchboard_store_batch_size",
		"switchboard_call_ring_duration_seconds", "switchboard_call_talk_duration_seconds"} {
		if exported[h] != "histogram" {
			t.Errorf("%s is a %q, want a histogram", h, exported[h])
		}
	}
}
