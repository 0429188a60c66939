package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The web step: wrk against GET /v1/availability, a full 200 answer and a
// 304 revalidation (If-None-Match with the current ETag, set by a wrk Lua
// script), and the same two runs against nginx serving the same bytes
// from a static file with its own ETag. The target is nginx's rate: a
// poll served from the snapshot should cost no more than a static file.
// Both servers and wrk share this machine's cores, so the figures compare
// the two servers more than they measure either alone.
const (
	wrkThreads     = 2
	wrkConns       = 64
	wrkDuration    = 10 * time.Second
	availPath      = "/v1/availability"
	nginxStartWait = 10 * time.Second
)

// wrkRun is what one wrk run measured.
type wrkRun struct {
	rps    float64
	p99    time.Duration
	errors int // socket errors and non-2xx/3xx answers
}

// webStep runs switchboard (every role, default configuration, bench
// settings) and nginx, measures both with wrk, stops both, and returns
// the rows of the final table.
func webStep(ctx context.Context, env stepEnv) ([][]string, error) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return nil, fmt.Errorf("%w (Debian: apt-get install wrk, or `make bench`)", err)
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil { // not on a non-root PATH
			return nil, fmt.Errorf("%w (Debian: apt-get install nginx-light, or `make bench`)", err)
		}
		nginx = "/usr/sbin/nginx"
	}
	dir, err := os.MkdirTemp(env.tmp, "web-")
	if err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, env.bin, dir)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	sbURL := "http://" + srv.http + availPath
	body, sbTag, err := stableBody(ctx, sbURL)
	if err != nil {
		return nil, err
	}
	fmt.Printf("  switchboard %s: %d bytes, ETag %s\n", sbURL, len(body), sbTag)

	ngx, err := startNginx(ctx, nginx, body)
	if err != nil {
		return nil, err
	}
	defer ngx.stop()
	ngURL := "http://" + ngx.addr + availPath
	got, ngTag, err := fetchAvailability(ctx, ngURL)
	if err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	if string(got) != string(body) {
		return nil, errors.New("nginx does not serve the bytes switchboard does")
	}
	fmt.Printf("  nginx       %s: the same bytes, ETag %s\n", ngURL, ngTag)

	runs := map[string]wrkRun{}
	for _, r := range []struct{ name, url, etag string }{
		{"switchboard 200", sbURL, ""}, {"nginx 200", ngURL, ""},
		{"switchboard 304", sbURL, sbTag}, {"nginx 304", ngURL, ngTag},
	} { // each pair back to back, so that whatever else runs weighs on both alike
		run, err := runWrk(ctx, wrk, dir, r.url, r.etag)
		if err != nil {
			return nil, fmt.Errorf("wrk, %s: %w", r.name, err)
		}
		// The answers must not have changed under the run: same bytes,
		// same tag, so every 304 run answered 304 and every 200 run 200.
		if b, tag, err := fetchAvailability(ctx, r.url); err != nil || string(b) != string(body) {
			return nil, fmt.Errorf("%s: the body changed during the run (%v)", r.name, err)
		} else if r.etag != "" && tag != r.etag {
			return nil, fmt.Errorf("%s: the ETag changed during the run: %s, then %s", r.name, r.etag, tag)
		}
		fmt.Printf("  %-16s %9.0f req/s, p99 %7.2f ms, %d errors\n", r.name, run.rps, ms(run.p99), run.errors)
		runs[r.name] = run
	}
	if cpu, _ := srv.stop(); cpu > 0 {
		fmt.Printf("  switchboard used %.1f s of CPU in all\n", cpu.Seconds())
	}

	var rows [][]string
	for _, kind := range []string{"200", "304"} {
		sb, ng := runs["switchboard "+kind], runs["nginx "+kind]
		metric := "GET /v1/availability " + kind
		rows = append(rows,
			webRow(metric+", switchboard", sb.rps, "1/s", ">=", ng.rps, sb.errors),
			webRow(metric+", switchboard p99", ms(sb.p99), "ms", "<=", ms(ng.p99), sb.errors),
			[]string{metric + ", nginx", fmt.Sprintf("%.0f", ng.rps), "1/s", "reference", errStatus(ng.errors)},
			[]string{metric + ", nginx p99", fmt.Sprintf("%.3g", ms(ng.p99)), "ms", "reference", errStatus(ng.errors)})
	}
	return rows, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

// webRow is a line of the final table, compared with nginx's figure.
func webRow(metric string, v float64, unit, cmp string, ref float64, errs int) []string {
	value := fmt.Sprintf("%.3g", v)
	if unit == "1/s" {
		value = fmt.Sprintf("%.0f", v)
	}
	status := "below target"
	if cmp == ">=" && v >= ref || cmp == "<=" && v <= ref {
		status = "ok"
	}
	if errs > 0 {
		status = errStatus(errs)
	}
	target := fmt.Sprintf("%s %.3g (nginx)", cmp, ref)
	if unit == "1/s" {
		target = fmt.Sprintf("%s %.0f (nginx)", cmp, ref)
	}
	return []string{metric, value, unit, target, status}
}

func errStatus(errs int) string {
	if errs > 0 {
		return fmt.Sprintf("FAIL: %d errors", errs)
	}
	return "-"
}

// fetchAvailability GETs url and returns a 200's body and ETag.
func fetchAvailability(ctx context.Context, url string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept-Encoding", "identity") // as wrk sends it: no gzip
	client := http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return b, res.Header.Get("ETag"), err
}

// stableBody waits until the availability document stops changing: the
// ACD publishes every group at start, which replaces the first snapshot
// (and its ETag) within a publish interval. It returns the body once it
// has kept its ETag for 3 s (or after 20 s, the last one seen).
func stableBody(ctx context.Context, url string) ([]byte, string, error) {
	var body []byte
	var tag string
	since := time.Now()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		b, t, err := fetchAvailability(ctx, url)
		if err != nil {
			return nil, "", err
		}
		if t != tag {
			body, tag, since = b, t, time.Now()
		}
		if time.Since(since) >= 3*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if tag == "" {
		return nil, "", fmt.Errorf("GET %s: no ETag", url)
	}
	return body, tag, nil
}

// nginxServer is a running nginx, master and workers.
type nginxServer struct {
	cmd    *exec.Cmd
	addr   string
	dir    string
	exited chan struct{}
}

// startNginx serves body at availPath from a static file, with nginx's own
// ETag (mtime and size) and the headers switchboard sends, on a loopback
// port. Its files live in a directory of their own, readable by the
// unprivileged workers that a master started as root switches to.
func startNginx(ctx context.Context, bin string, body []byte) (*nginxServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sbbench-nginx-")
	if err != nil {
		return nil, err
	}
	n := &nginxServer{addr: addr, dir: dir, exited: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			n.stop()
		}
	}()
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "www", "v1"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "v1", "availability"), body, 0o644); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes %d;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path tmp/body;
	proxy_temp_path tmp/proxy;
	fastcgi_temp_path tmp/fastcgi;
	uwsgi_temp_path tmp/uwsgi;
	scgi_temp_path tmp/scgi;
	types { }
	default_type application/json;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	open_file_cache max=16 inactive=60s;
	keepalive_requests 1000000;
	etag on;
	server {
		listen %s;
		root www;
		location = %s {
			add_header Cache-Control "public, max-age=2";
			add_header Vary "Accept-Encoding, Origin";
		}
	}
}
`, 2, addr, availPath)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	n.cmd = exec.Command(bin, "-c", confPath, "-p", dir+"/", "-e", filepath.Join(dir, "error.log"))
	n.cmd.Stdout, n.cmd.Stderr, n.cmd.SysProcAttr = logf, logf, childAttr()
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { n.cmd.Wait(); close(n.exited) }()
	client := http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(nginxStartWait); time.Now().Before(deadline); {
		if res, err := client.Get("http://" + addr + availPath); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				ok = true
				return n, nil
			}
		}
		select {
		case <-n.exited:
			return nil, fmt.Errorf("nginx exited at start:\n%s", n.logs())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("nginx not serving after %s:\n%s", nginxStartWait, n.logs())
}

// logs are nginx's stderr and error log, for error reports.
func (n *nginxServer) logs() string {
	a, _ := os.ReadFile(filepath.Join(n.dir, "stderr.log"))
	b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	s := string(a) + string(b)
	return s[max(0, len(s)-2000):]
}

// stop ends nginx (SIGTERM, a fast shutdown of master and workers;
// SIGKILL after 10 s) and removes its files. It may be called more than
// once.
func (n *nginxServer) stop() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
	}
	os.RemoveAll(n.dir)
}

// runWrk runs wrk against url, with If-None-Match: etag when etag is set
// (through a Lua script written into dir), and parses its report.
func runWrk(ctx context.Context, wrk, dir, url, etag string) (wrkRun, error) {
	args := []string{"-t" + strconv.Itoa(wrkThreads), "-c" + strconv.Itoa(wrkConns),
		"-d" + strconv.Itoa(int(wrkDuration.Seconds())) + "s", "--latency", "--timeout", "5s"}
	if etag != "" {
		script := filepath.Join(dir, "if-none-match.lua")
		lua := fmt.Sprintf("-- GET with If-None-Match: every answer is a 304.\nwrk.headers[\"If-None-Match\"] = %s\n", luaString(etag))
		if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
			return wrkRun{}, err
		}
		args = append(args, "-s", script)
	}
	wctx, cancel := context.WithTimeout(ctx, wrkDuration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(wctx, wrk, append(args, url)...)
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkRun{}, fmt.Errorf("%v\n%s", err, out)
	}
	return parseWrk(string(out))
}

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "\\%03d", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var (
	wrkRPS    = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkP99    = regexp.MustCompile(`(?m)^\s+99%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkSocket = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon23  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads requests/s, the 99th percentile latency (--latency) and
// the errors from wrk's report.
func parseWrk(out string) (wrkRun, error) {
	var r wrkRun
	m := wrkRPS.FindStringSubmatch(out)
	p := wrkP99.FindStringSubmatch(out)
	if m == nil || p == nil {
		return r, fmt.Errorf("no Requests/sec or 99%% latency in wrk's report:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[p[2]]
	r.p99 = time.Duration(math.Round(v * float64(unit)))
	if s := wrkSocket.FindStringSubmatch(out); s != nil {
		for _, n := range s[1:] {
			k, _ := strconv.Atoi(n)
			r.errors += k
		}
	}
	if s := wrkNon23.FindStringSubmatch(out); s != nil {
		k, _ := strconv.Atoi(s[1])
		r.errors += k
	}
	return r, nil
}
