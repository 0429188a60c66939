package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/calltest"
)

// TestBrowser_NoMicrophoneCallbackReachesTheTrunk: in headless Chromium
// without a microphone Talk now cannot make a data connection, so the
// widget offers the callback form; the number sent there is called
// through the trunk (a SIPp UAS) once the agent (a sipgo phone) answers.
func TestBrowser_NoMicrophoneCallbackReachesTheTrunk(t *testing.T) {
	chromium := chromiumPath(t)
	sipp := lookSIPp(t)
	port := freeUDPPort(t)
	sippDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sipp"))
	if err != nil {
		t.Fatal(err)
	}
	sippCtx, stopSIPp := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stopSIPp()
	dir := t.TempDir()
	uas := exec.CommandContext(sippCtx, sipp, "-sf", filepath.Join(sippDir, "agent_uas.xml"),
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t)),
		"-m", "1", "-nostdin", "-trace_err", "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	uas.Dir = dir
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { uas.Process.Kill(); uas.Wait() }()

	p := startCallServer(t, "trunk.port="+strconv.Itoa(port))
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	ctx, pageLog := newBrowser(t, chromium) // no fake devices: getUserMedia fails
	wait := waiter(t, ctx, p, pageLog)
	talkNow(t, ctx, p, wait, "billing")
	wait("the callback form, offered by itself", `document.getElementById('switchboard-widget').dataset.callbackState === 'form'`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#sbw-cb-phone`), "06 12 34 56 78")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sbw-cb-send`))); err != nil {
		t.Fatal(err)
	}

	ac := calltest.Next(t, alice.Answered(), "the agent called first")
	if got := ac.Header("Switchboard-Phone"); got != "+33612345678" {
		t.Errorf("the agent was shown %q", got)
	}
	wait("talking", `document.getElementById('switchboard-widget').dataset.callbackState === 'talking'`)
	if err := ac.Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	if err := uas.Wait(); err != nil { // SIPp answered one call and got its BYE
		t.Errorf("sipp trunk: %v", err)
	}
	msgs, _ := os.ReadFile(filepath.Join(dir, "messages.log"))
	if !strings.Contains(string(msgs), "INVITE sip:+33612345678@127.0.0.1") {
		t.Errorf("the trunk did not get an INVITE to the visitor's number:\n%.2000s", msgs)
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}
