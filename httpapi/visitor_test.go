package httpapi

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

func post(t *testing.T, url, body string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b := new(strings.Builder)
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res, b.String()
}

func sbCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "sb_ctx" {
			return c
		}
	}
	return nil
}

func TestContext_ChoosingAGroupSetsASignedCookieThatRoutes(t *testing.T) {
	g := &groups{}
	g.set(billing, support)
	base := startWeb(t, g)
	fetch(t, "GET", base+"/v1/availability") // the server is up

	res, body := post(t, base+"/v1/context", `{"group":"support","language":"fr","page":"/pricing"}`)
	c := sbCookie(t, res)
	if res.StatusCode != 200 || c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("POST: %d %s, cookie %+v", res.StatusCode, body, c)
	}
	if !strings.Contains(body, `"route":{"group":"support","preferred_agent":"","language":"fr"}`) {
		t.Fatalf("route: %s", body)
	}
	if _, body := fetch(t, "GET", base+"/v1/context", "Cookie", "sb_ctx="+c.Value); !strings.Contains(body, `"route":{"group":"support"`) {
		t.Fatalf("GET with the cookie: %s", body)
	}
	if _, body := post(t, base+"/v1/context", `{"page":"/help"}`, c); !strings.Contains(body, `"group":"support"`) ||
		!strings.Contains(body, `"pages":["/pricing","/help"]`) {
		t.Fatalf("context lost across requests: %s", body)
	}

	tampered := &http.Cookie{Name: "sb_ctx", Value: strings.Replace(c.Value, "A", "B", 1) + "x"}
	if res, body := post(t, base+"/v1/context", `{}`, tampered); res.StatusCode != 200 || strings.Contains(body, "support") {
		t.Fatalf("tampered cookie: %d %s", res.StatusCode, body)
	}
}

func TestContext_BadInputGets400JSON(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	fetch(t, "GET", base+"/v1/availability")
	mac := hmac.New(sha256.New, []byte("site-secret"))
	mac.Write([]byte("cust-42"))
	good := "cust-42." + hex.EncodeToString(mac.Sum(nil))
	cases := []struct{ body, code string }{
		{`{"group":`, "bad_json"},
		{`["group"]`, "bad_json"},
		{`{"group":"nope"}`, "unknown_group"},
		{`{"language":"fr<script>"}`, "bad_language"},
		{`{"customer_token":"cust-42.deadbeef"}`, "bad_customer_token"},
	}
	for _, c := range cases {
		res, body := post(t, base+"/v1/context", c.body)
		if res.StatusCode != 400 || !strings.Contains(body, `"error":"`+c.code+`"`) || sbCookie(t, res) != nil {
			t.Errorf("%s: %d %s", c.body, res.StatusCode, body)
		}
	}
	if res, body := post(t, base+"/v1/context", `{"customer_token":"`+good+`"}`); res.StatusCode != 200 || !strings.Contains(body, `"customer":"cust-42"`) {
		t.Fatalf("signed customer token: %d %s", res.StatusCode, body)
	}
	mac = hmac.New(sha256.New, []byte("site-secret"))
	mac.Write([]byte("cust-43.gold"))
	gold := "cust-43.gold." + hex.EncodeToString(mac.Sum(nil))
	if res, body := post(t, base+"/v1/context", `{"customer_token":"`+gold+`"}`); res.StatusCode != 200 ||
		!strings.Contains(body, `"customer":"cust-43"`) || !strings.Contains(body, `"tier":"gold"`) {
		t.Fatalf("signed customer token with a tier: %d %s", res.StatusCode, body)
	}
	if res, body := post(t, base+"/v1/context", `{"customer_token":"cust-43.platinum.`+hex.EncodeToString(mac.Sum(nil))+`"}`); res.StatusCode != 400 {
		t.Fatalf("a tier the site did not sign: %d %s", res.StatusCode, body)
	}
}

func TestContext_PreflightAllowsCredentialsForConfiguredOrigins(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	res, _ := fetch(t, "OPTIONS", base+"/v1/context", "Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST")
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := fetch(t, "OPTIONS", base+"/v1/context", "Origin", "https://evil.example.net"); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("preflight allowed an origin not configured")
	}
}

func TestContext_NoCookieBeforeInteraction(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	if res, _ := fetch(t, "GET", base+"/v1/context"); sbCookie(t, res) != nil {
		t.Fatal("GET /v1/context set a cookie without consent")
	}
}

func TestVisitorCodec_ExpiredCookieIgnored(t *testing.T) {
	vc := visitorCodec{key: []byte("k"), maxAge: time.Hour}
	now := time.Now()
	value := vc.encode(Visitor{Group: "billing"}, now.Add(-2*time.Hour))
	if _, err := vc.decode(value, now); err == nil {
		t.Fatal("expired cookie accepted")
	}
	if v, err := vc.decode(vc.encode(Visitor{Group: "billing"}, now), now); err != nil || v.Group != "billing" {
		t.Fatalf("fresh cookie: %+v %v", v, err)
	}
}

// A body past http.max_body_bytes gets a JSON 413 before the server reads
// it: the client has sent 1 KiB of a declared 10 MB when the answer comes,
// saying the connection closes. A chunked body meets the same limit once
// it has passed it, and one within the limit is served.
func TestBody_TooLargeGetsJSON413BeforeItIsRead(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	fetch(t, "GET", base+"/v1/availability")
	addr := strings.TrimPrefix(base, "http://")
	send := func(head, body string) (*http.Response, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("POST /v1/context HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" + head + "\r\n" + body))
		c.SetReadDeadline(time.Now().Add(siptest.Wait))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", head, err)
		}
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := send("Content-Length: 10000000\r\n", strings.Repeat(" ", 1024))
	if res.StatusCode != 413 || !strings.Contains(body, `"error":"too_large"`) || !res.Close {
		t.Errorf("declared 10 MB: %d %q close=%v", res.StatusCode, body, res.Close)
	}
	chunk := strings.Repeat("x", 40<<10)
	chunked := fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk, len(chunk), chunk)
	if res, body := send("Transfer-Encoding: chunked\r\n", chunked); res.StatusCode != 413 || !strings.Contains(body, `"error":"too_large"`) {
		t.Errorf("chunked 80 KiB: %d %q", res.StatusCode, body)
	}
	small := `{"group":"billing"}`
	if res, body := send("Transfer-Encoding: chunked\r\n", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(small), small)); res.StatusCode != 200 {
		t.Errorf("chunked small body: %d %q", res.StatusCode, body)
	}
}
