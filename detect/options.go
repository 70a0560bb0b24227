package detect

import "fmt"

// DefaultCostLimit is the default per-rule CEL cost limit (see WithCostLimit).
const DefaultCostLimit = 1_000_000

// DefaultInterruptCheckFrequency is how many comprehension iterations run
// between checks of the context by default.
const DefaultInterruptCheckFrequency = 100

type config struct {
	pipeline       *Pipeline
	costLimit      uint64
	interruptEvery uint
	prefilter      bool
	native         bool
	// everySecond uses every second literal set, however common or costly
	// its literals (for tests: the cost rules otherwise leave few in use)
	everySecond bool
}

func defaultConfig() config {
	return config{costLimit: DefaultCostLimit, interruptEvery: DefaultInterruptCheckFrequency, prefilter: true, native: true}
}

// Option configures Compile. Options that receive invalid values make
// Compile fail. An Option is a function value with no state of its own;
// it may be reused and shared between goroutines.
type Option func(*config) error

// WithPipeline routes rules to events by logsource through p (see Pipeline
// and the package doc). Without a pipeline every rule meets every event.
func WithPipeline(p Pipeline) Option {
	return func(c *config) error {
		for i, m := range p.Logsources {
			if m.Logsource == (Logsource{}) {
				return fmt.Errorf("detect: pipeline %q: mapping %d has an empty logsource: %w", p.Name, i+1, ErrRule)
			}
			if len(m.Conditions) == 0 {
				return fmt.Errorf("detect: pipeline %q: mapping %d (%s) has no conditions: %w", p.Name, i+1, lsString(m.Logsource), ErrRule)
			}
			for j, cond := range m.Conditions {
				if len(cond) == 0 {
					return fmt.Errorf("detect: pipeline %q: mapping %d (%s) condition %d is empty: %w", p.Name, i+1, lsString(m.Logsource), j+1, ErrRule)
				}
			}
		}
		c.pipeline = &p
		return nil
	}
}

// WithCostLimit sets the CEL cost limit of one rule's evaluation on one
// event (CEL's abstract cost units; 0 is rejected). An evaluation that
// exceeds it stops with an *EvalError wrapping ErrCost.
func WithCostLimit(n uint64) Option {
	return func(c *config) error {
		if n == 0 {
			return fmt.Errorf("detect: cost limit must be positive: %w", ErrRule)
		}
		c.costLimit = n
		return nil
	}
}

// WithInterruptCheckFrequency sets how many comprehension iterations a CEL
// program runs between checks of the Match context (0 is rejected).
func WithInterruptCheckFrequency(n uint) Option {
	return func(c *config) error {
		if n == 0 {
			return fmt.Errorf("detect: interrupt check frequency must be positive: %w", ErrRule)
		}
		c.interruptEvery = n
		return nil
	}
}

// WithPrefilter turns the literal prefilter on (the default) or off. Off,
// every routed rule is evaluated on every event; the matches are the same.
func WithPrefilter(on bool) Option {
	return func(c *config) error { c.prefilter = on; return nil }
}

// WithNativeEvaluation turns direct evaluation of contract-shaped conditions
// on (the default) or off. Off, every condition runs as its CEL program; the
// matches are the same.
func WithNativeEvaluation(on bool) Option {
	return func(c *config) error { c.native = on; return nil }
}

func lsString(l Logsource) string {
	s := ""
	for _, p := range [][2]string{{"product", l.Product}, {"category", l.Category}, {"service", l.Service}} {
		if p[1] != "" {
			if s != "" {
				s += " "
			}
			s += p[0] + "=" + p[1]
		}
	}
	if s == "" {
		return "any"
	}
	return s
}

// withEverySecondSet makes Compile use every rule's second literal set (see
// node.literalGroups), not only those that cost no extra scanning. The
// matches are the same either way; tests use it to exercise the sets.
func withEverySecondSet() Option {
	return func(c *config) error { c.everySecond = true; return nil }
}
