package train

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sinktrain/sinktrain/internal/progress"
)

// logger writes metrics.jsonl and shows progress: a progress bar on a
// terminal, plain log lines otherwise.
type logger struct {
	out     io.Writer          // human-readable output
	metrics *os.File           // metrics.jsonl, appended
	bar     *progress.Reporter // nil off a terminal
	steps   int
	began   time.Time
	first   int   // step the run (or resume) started at
	tps     int64 // text tokens per step
}

func newLogger(out io.Writer, metricsPath string) (*logger, error) {
	f, err := os.OpenFile(metricsPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = io.Discard
	}
	return &logger{out: out, metrics: f}, nil
}

func (l *logger) start(step, steps int, tokensPerStep int64) {
	l.steps, l.first, l.began, l.tps = steps, step, time.Now(), tokensPerStep
	if progress.IsTerminal(l.out) {
		l.bar = progress.New(l.out, int64(steps), progress.Options{Bar: []progressbar.Option{progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200 * time.Millisecond)}})
		l.bar.Set(int64(step))
	}
}

// eta estimates the remaining time from the steps done since start.
func (l *logger) eta(step int) time.Duration {
	if step <= l.first {
		return 0
	}
	per := time.Since(l.began) / time.Duration(step-l.first)
	return (per * time.Duration(l.steps-step)).Round(time.Second)
}

// metric appends one metrics.jsonl line and, without a bar, prints a log line.
func (l *logger) metric(m metric) error {
	b, _ := json.Marshal(m)
	if _, err := l.metrics.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", l.metrics.Name(), err)
	}
	if l.bar == nil {
		val := ""
		if m.ValLoss != nil {
			val = fmt.Sprintf(" | val %.4f", *m.ValLoss)
		}
		fmt.Fprintf(l.out, "step %d/%d | loss %.4f%s | lr %.2e | %.0f tok/s | ETA %s\n",
			m.Step, l.steps, m.Loss, val, m.LR, m.TokS, l.eta(m.Step))
	} else if m.ValLoss != nil {
		l.bar.Clear()
		fmt.Fprintf(l.out, "step %d: val loss %.4f\n", m.Step, *m.ValLoss)
	}
	return nil
}

// progress updates the bar after every step; its tok/s is the mean since
// the run (or resume) started, so it shows from the first step.
func (l *logger) progress(step int, loss, lr float64) {
	if l.bar == nil {
		return
	}
	l.bar.Describe(fmt.Sprintf("loss %.4f lr %.2e %.0f tok/s", loss, lr, l.rate(step)))
	l.bar.Set(int64(step))
}

// rate returns the text tokens per second since start, at step.
func (l *logger) rate(step int) float64 {
	el := time.Since(l.began).Seconds()
	if el <= 0 || step <= l.first {
		return 0
	}
	return float64(int64(step-l.first)*l.tps) / el
}

func (l *logger) finish() {
	if l.bar != nil {
		l.bar.Finish()
		fmt.Fprintln(l.out)
	}
	l.metrics.Close()
}

func (l *logger) printf(format string, args ...any) { fmt.Fprintf(l.out, format, args...) }
