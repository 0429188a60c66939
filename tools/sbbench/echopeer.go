package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/internal/calltest"
)

// echoPeerEnv, when set, makes sbbench the control calls' echo peer
// (runEchoPeer) instead of the bench: the calls step starts its own
// executable so.
const echoPeerEnv = "SBBENCH_ECHO_PEER"

// runEchoPeer is a WebRTC peer that answers offers POSTed to /offer (the
// SDP as body, the answer back) and sends every RTP packet it receives
// back on its own track, payload untouched: the shortest WebRTC echo, the
// calls step's baseline. It prints its base URL on the first line of
// stdout and serves until killed. Like switchboard's browser leg it
// offers G.711 and telephone-event, runs pion's RTCP report interceptors
// and keeps ICE on 127.0.0.1.
func runEchoPeer() error {
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: calltest.MimeTypeTelephoneEvent, ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: 101},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return err
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(calltest.LoopbackSettingEngine()))
	ln, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		offer, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answer, err := echoAnswer(api, string(offer))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, answer)
	})
	return http.Serve(ln, mux)
}

// echoAnswer answers one offer with a peer connection that echoes RTP.
func echoAnswer(api *webrtc.API, offer string) (string, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "echo", "sbbench")
	if err != nil {
		pc.Close()
		return "", err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		pc.Close()
		return "", err
	}
	go drain(sender.Read)
	pc.OnTrack(func(tr *webrtc.TrackRemote, rec *webrtc.RTPReceiver) {
		go drain(rec.Read)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			track.WriteRTP(pkt) // the track stamps its own SSRC and payload type
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed { // not Disconnected: it may come back
			pc.Close()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		pc.Close()
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		pc.Close()
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// drain reads RTCP until the stream closes, so that interceptors see it.
func drain(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}

// echoPeer is a running echo peer process.
type echoPeer struct {
	cmd *exec.Cmd
	url string // base URL, http://host:port
}

// startEchoPeer runs this executable as an echo peer and waits for its URL.
func startEchoPeer(ctx context.Context, logPath string) (*echoPeer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), echoPeerEnv+"=1")
	cmd.Stderr, cmd.SysProcAttr = logf, childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &echoPeer{cmd: cmd}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, out)
	}()
	select {
	case p.url = <-line:
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	if !strings.HasPrefix(p.url, "http://") {
		p.stop()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("echo peer did not start (%q): %s", p.url, b)
	}
	return p, nil
}

// answer posts an offer to the echo peer and returns its answer.
func (p *echoPeer) answer(ctx context.Context, client *http.Client, offer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/offer", strings.NewReader(offer))
	if err != nil {
		return "", err
	}
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = errors.New(res.Status + ": " + strings.TrimSpace(string(b)))
	}
	return string(b), err
}

func (p *echoPeer) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}
