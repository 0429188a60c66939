package calls

import "time"

// Observer hears how long the steps of visitors' calls take, for the
// process's metrics (cmd/switchboard turns them into histograms). Its
// methods are called from calls' goroutines and must not block.
type Observer interface {
	// Rang is an agent answering a call d after it was offered (the
	// INVITE sent, or the softphone rung).
	Rang(d time.Duration)
	// Talked is a bridged call's agent leg ending after d: the visitor
	// or the agent hung up, or the agent transferred the call.
	Talked(d time.Duration)
}

// noObserver is the Observer of a Manager given none.
type noObserver struct{}

func (noObserver) Rang(time.Duration)   {}
func (noObserver) Talked(time.Duration) {}

// ChatReasons lists every reason a chat ends with.
var ChatReasons = []string{ChatReasonVisitorLeft, ChatReasonAgentEnded, ChatReasonIdle, ChatReasonCall, ChatReasonShutdown}

// CallbackEnds lists the states a callback ends in.
var CallbackEnds = []CallbackState{CallbackDone, CallbackFailed, CallbackCancelled}

// Results of a callback's attempt, as Stats counts them.
const (
	AttemptAnswered    = "answered"    // agent and visitor bridged
	AttemptAgentMissed = "agent"       // the agent did not answer: the next agent is tried
	AttemptVisitor     = "visitor"     // the visitor's leg failed: counted against the attempts
	AttemptPostponed   = "postponed"   // over a limit (trunk rate, media): tried later
	AttemptOther       = "interrupted" // a restart interrupted it, or an agent took it by hand
)

// AttemptResults lists the results of callbacks' attempts.
var AttemptResults = []string{AttemptAnswered, AttemptAgentMissed, AttemptVisitor, AttemptPostponed, AttemptOther}

// attemptResult classifies an attempt's outcome (Attempt.Outcome).
func attemptResult(outcome string) string {
	for _, r := range []string{AttemptAgentMissed, AttemptVisitor, AttemptPostponed} {
		if len(outcome) > len(r) && outcome[:len(r)+1] == r+":" {
			return r
		}
	}
	if outcome == AttemptAnswered {
		return AttemptAnswered
	}
	return AttemptOther
}
