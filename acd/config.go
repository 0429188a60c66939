package acd

import (
	"fmt"
	"strings"
	"time"
)

// Config describes the customer support server: its agents, skill groups,
// and how it tells the presence server about them.
type Config struct {
	// Domain is the SIP domain of group presentities: sip:<group-id>@<domain>.
	Domain string `yaml:"domain"`
	// PresenceServer is where availability is PUBLISHed, a SIP URI such as
	// "sip:10.0.0.5:5060" (add ";transport=tcp" for TCP; over UDP, a
	// PUBLISH past 1300 bytes goes over TCP to the same port). Empty means
	// the presence role of this same process, still over SIP (TCP when it
	// listens on TCP).
	PresenceServer string `yaml:"presence_server"`
	// Username and Password authenticate the PUBLISHes (a trusted user of
	// the presence server).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// PublishInterval is how often every group and agent is PUBLISHed
	// even without a change.
	PublishInterval time.Duration `yaml:"publish_interval"`
	// MinPublishGap coalesces changes: at most one PUBLISH round per gap.
	MinPublishGap time.Duration `yaml:"min_publish_gap"`
	// WrapUp is how long an agent stays in wrap-up after a call.
	WrapUp time.Duration `yaml:"wrap_up"`
	// StickyWait is how long a visitor's preferred agent (the last one it
	// spoke with) is waited for, while that agent is signed in, before
	// anyone with the skill may take the visitor.
	StickyWait time.Duration `yaml:"sticky_wait"`
	// RingSkip is how long an agent who let a visitor's call ring out (or
	// whose phone could not take it) is not offered that visitor again;
	// other agents may take it meanwhile.
	RingSkip time.Duration `yaml:"ring_skip"`
	// LanguageWait is how long a visitor waits for an agent who speaks
	// its language (skill "lang-<language>") while one is signed in,
	// before anyone may take it; 0 prefers a speaker only among the
	// agents free at that moment.
	LanguageWait time.Duration `yaml:"language_wait"`
	// Tiers give a visitor's service tier (signed by the site in its
	// customer token) a priority: within a group, visitors of a higher
	// priority go first, then the longest wait. A tier not listed is 0.
	Tiers map[string]int `yaml:"tiers"`
	// MaxMisses is how many routed calls in a row an agent may leave
	// unanswered before it is set away; 0 never sets it away.
	MaxMisses int `yaml:"max_misses"`
	// Estimator seeds the waiting-time estimate of every group.
	Estimator EstimatorConfig `yaml:"estimator"`
	// Bands label waiting times for display, shortest first.
	Bands []Band `yaml:"bands"`
	// Agents are the customer support representatives.
	Agents []AgentConfig `yaml:"agents"`
	// AwayReasons are the reasons an agent may give for being away.
	AwayReasons []AwayReason `yaml:"away_reasons"`
	// Supervisors may see every agent and queue (the supervisor view).
	Supervisors []SupervisorConfig `yaml:"supervisors"`
	// Groups are the skill groups visitors choose from.
	Groups []GroupConfig `yaml:"groups"`
}

// AgentConfig is one agent.
type AgentConfig struct {
	// URI is the agent's address-of-record, e.g. "sip:alice@example.com".
	// Its user part is the agent's SIP account: the digest credentials
	// are that user's entry in sip.auth.users.
	URI string `yaml:"uri"`
	// Name is shown to visitors and on wallboards.
	Name string `yaml:"name"`
	// Skills maps a skill to a proficiency from 1 (novice) to 5 (expert).
	Skills map[string]int `yaml:"skills"`
	// Token is the agent's bearer token for the agent HTTP API (at least
	// 16 characters); empty keeps the agent out of the API.
	Token string `yaml:"token"`
}

// SupervisorConfig is a supervisor: a name and the bearer token of the
// supervisor view.
type SupervisorConfig struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
}

// GroupConfig is one skill group.
type GroupConfig struct {
	// ID names the group in URIs and the API: sip:<id>@<domain>.
	ID string `yaml:"id"`
	// Name is shown to visitors.
	Name string `yaml:"name"`
	// Skill is what an agent needs to serve the group...
	Skill string `yaml:"skill"`
	// ...with at least this proficiency (1–5).
	MinProficiency int `yaml:"min_proficiency"`
	// ProficiencySteps raise the minimum proficiency while a visitor has
	// waited little (Genesys bullseye, Connect proficiency steps): after
	// waiting w, agents need the Min of the last step whose After is at
	// most w, MinProficiency before the first. Steps go in increasing
	// After, each Min at least MinProficiency; e.g. [{after: 0s, min: 5},
	// {after: 30s, min: 4}, {after: 1m, min: 3}].
	ProficiencySteps []ProficiencyStep `yaml:"proficiency_steps"`
	// Priority orders groups for an agent who serves several: the
	// visitor of the highest priority group goes first, then, within a
	// priority, the one who has waited longest.
	Priority int `yaml:"priority"`
	// Overflow opens the group's visitors to another group's agents after
	// they have waited a while; nil never.
	Overflow *Overflow `yaml:"overflow"`
	// MaxWait is how long a caller waits before it is offered a callback
	// (it may keep waiting); 0 never.
	MaxWait time.Duration `yaml:"max_wait"`
	// Hours are the opening hours; none means always open.
	Hours *Hours `yaml:"hours"`
	// QueueLimit caps the visitors waiting; 0 means no limit.
	QueueLimit int `yaml:"queue_limit"`
}

// ProficiencyStep is one step of GroupConfig.ProficiencySteps.
type ProficiencyStep struct {
	After time.Duration `yaml:"after"`
	Min   int           `yaml:"min"`
}

// Overflow is where a group's visitors may also be served.
type Overflow struct {
	// After is the wait from which Group's agents (its skill at its
	// minimum proficiency) may take the visitor too.
	After time.Duration `yaml:"after"`
	Group string        `yaml:"group"`
}

// minProficiency is the proficiency a visitor who has waited wait needs.
func (g GroupConfig) minProficiency(wait time.Duration) int {
	for i := len(g.ProficiencySteps) - 1; i >= 0; i-- {
		if st := g.ProficiencySteps[i]; wait >= st.After {
			return st.Min
		}
	}
	return g.MinProficiency
}

// Hours are weekly opening hours in a time zone.
type Hours struct {
	// TimeZone is an IANA name, e.g. "Europe/Paris".
	TimeZone string `yaml:"time_zone"`
	// Days open, as three-letter names: mon, tue, ... sun.
	Days []string `yaml:"days"`
	// Open and Close are "HH:MM" local times; Close after Open.
	Open  string `yaml:"open"`
	Close string `yaml:"close"`
}

// DefaultConfig returns the defaults of every field but the agents and groups.
func DefaultConfig() Config {
	return Config{
		Domain:          "example.com",
		PublishInterval: 5 * time.Second,
		MinPublishGap:   500 * time.Millisecond,
		WrapUp:          30 * time.Second,
		MaxMisses:       3,
		StickyWait:      30 * time.Second,
		RingSkip:        30 * time.Second,
		Estimator:       DefaultEstimatorConfig(),
		Bands:           DefaultBands(),
		AwayReasons:     DefaultAwayReasons(),
	}
}

// Validate names the first bad field under prefix.
func (c Config) Validate(prefix string) error {
	switch {
	case c.Domain == "":
		return fmt.Errorf("%s.domain: required", prefix)
	case c.PresenceServer != "" && !strings.HasPrefix(c.PresenceServer, "sip:"):
		return fmt.Errorf("%s.presence_server: %q is not a sip: URI", prefix, c.PresenceServer)
	case c.PublishInterval < time.Second:
		return fmt.Errorf("%s.publish_interval: %s is under 1s", prefix, c.PublishInterval)
	case c.MinPublishGap < 0 || c.MinPublishGap > c.PublishInterval:
		return fmt.Errorf("%s.min_publish_gap: must lie between 0 and publish_interval", prefix)
	case c.WrapUp < 0:
		return fmt.Errorf("%s.wrap_up: must not be negative", prefix)
	case c.StickyWait < 0:
		return fmt.Errorf("%s.sticky_wait: must not be negative", prefix)
	case c.MaxMisses < 0:
		return fmt.Errorf("%s.max_misses: must not be negative", prefix)
	case c.RingSkip < 0 || c.LanguageWait < 0:
		return fmt.Errorf("%s.ring_skip, language_wait: must not be negative", prefix)
	}
	if err := c.Estimator.Validate(prefix + ".estimator"); err != nil {
		return err
	}
	agents, tokens := map[string]bool{}, map[string]bool{}
	for i, a := range c.Agents {
		p := fmt.Sprintf("%s.agents[%d]", prefix, i)
		if err := a.validate(p); err != nil {
			return err
		}
		if agents[a.URI] {
			return fmt.Errorf("%s.uri: %q appears twice", p, a.URI)
		}
		agents[a.URI] = true
		if a.Token != "" && tokens[a.Token] {
			return fmt.Errorf("%s.token: the same token is given to another agent", p)
		}
		tokens[a.Token] = true
	}
	if err := validateAwayReasons(prefix, c.AwayReasons); err != nil {
		return err
	}
	for i, sv := range c.Supervisors {
		p := fmt.Sprintf("%s.supervisors[%d]", prefix, i)
		switch {
		case sv.Name == "":
			return fmt.Errorf("%s.name: required", p)
		case len(sv.Token) < 16:
			return fmt.Errorf("%s.token: must have at least 16 characters", p)
		case tokens[sv.Token]:
			return fmt.Errorf("%s.token: the same token is given to another agent or supervisor", p)
		}
		tokens[sv.Token] = true
	}
	groups := map[string]bool{}
	for i, g := range c.Groups {
		p := fmt.Sprintf("%s.groups[%d]", prefix, i)
		if err := g.validate(p); err != nil {
			return err
		}
		if groups[g.ID] {
			return fmt.Errorf("%s.id: %q appears twice", p, g.ID)
		}
		groups[g.ID] = true
	}
	for i, g := range c.Groups {
		if o := g.Overflow; o != nil && (!groups[o.Group] || o.Group == g.ID) {
			return fmt.Errorf("%s.groups[%d].overflow.group: %q is not another configured group", prefix, i, o.Group)
		}
	}
	return nil
}

func (a AgentConfig) validate(p string) error {
	if user, host, ok := splitAOR(a.URI); !ok || user == "" || host == "" {
		return fmt.Errorf("%s.uri: %q is not sip:user@host", p, a.URI)
	}
	if a.Token != "" && len(a.Token) < 16 {
		return fmt.Errorf("%s.token: must have at least 16 characters", p)
	}
	for skill, prof := range a.Skills {
		if prof < 1 || prof > 5 {
			return fmt.Errorf("%s.skills.%s: proficiency %d is not 1–5", p, skill, prof)
		}
	}
	return nil
}

func (g GroupConfig) validate(p string) error {
	switch {
	case g.ID == "" || strings.ContainsAny(g.ID, "@:;/ "):
		return fmt.Errorf("%s.id: %q is not a SIP user part", p, g.ID)
	case g.Skill == "":
		return fmt.Errorf("%s.skill: required", p)
	case g.MinProficiency < 1 || g.MinProficiency > 5:
		return fmt.Errorf("%s.min_proficiency: %d is not 1–5", p, g.MinProficiency)
	case g.QueueLimit < 0:
		return fmt.Errorf("%s.queue_limit: must not be negative", p)
	case g.Overflow != nil && g.Overflow.After < 0:
		return fmt.Errorf("%s.overflow.after: must not be negative", p)
	case g.MaxWait < 0:
		return fmt.Errorf("%s.max_wait: must not be negative", p)
	}
	for i, st := range g.ProficiencySteps {
		switch {
		case st.Min < g.MinProficiency || st.Min > 5:
			return fmt.Errorf("%s.proficiency_steps[%d].min: %d is not between min_proficiency and 5", p, i, st.Min)
		case i > 0 && st.After <= g.ProficiencySteps[i-1].After:
			return fmt.Errorf("%s.proficiency_steps[%d].after: steps go in increasing after", p, i)
		}
	}
	if g.Hours != nil {
		if _, err := g.Hours.compile(); err != nil {
			return fmt.Errorf("%s.hours.%w", p, err)
		}
	}
	return nil
}

// splitAOR splits "sip:user@host" into user and host.
func splitAOR(uri string) (user, host string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "sip:")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "@")
}
