package infer

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports how far a long job is: a progress bar on a terminal,
// a plain log line every logEvery otherwise, nothing for a nil writer.
type progress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	what  string
	total int
	start time.Time
	last  time.Time
}

const logEvery = 10 * time.Second

func newProgress(w io.Writer, what string, total int) *progress {
	p := &progress{w: w, what: what, total: total, start: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("tok"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

// set records that done of total items are finished.
func (p *progress) set(done int) {
	switch {
	case p.w == nil:
	case p.bar != nil:
		p.bar.Set(done)
	case time.Since(p.last) >= logEvery:
		p.last = time.Now()
		rate := float64(done) / time.Since(p.start).Seconds()
		fmt.Fprintf(p.w, "%s: %d/%d tokens (%.0f%%), %.0f tok/s\n", p.what, done, p.total, 100*float64(done)/float64(max(p.total, 1)), rate)
	}
}

// finish ends the bar.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
