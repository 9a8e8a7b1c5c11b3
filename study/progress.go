package study

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sinktrain/sinktrain/internal/progress"
)

// logEvery is how often a progress line is written off a terminal.
const logEvery = 10 * time.Second

// scoreProgress reports how far scoring is: a progress bar on a terminal,
// a plain log line every logEvery otherwise, nothing for a nil writer.
type scoreProgress struct{ *progress.Reporter }

// newProgress reports on w the scoring of total tokens labelled what.
func newProgress(w io.Writer, what string, total int) scoreProgress {
	return scoreProgress{progress.New(w, int64(total), progress.Options{
		Description: what,
		Bar: []progressbar.Option{progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("tok"), progressbar.OptionThrottle(200 * time.Millisecond),
			progressbar.OptionClearOnFinish()},
		Interval: logEvery,
		Line: func(done, total int64, elapsed time.Duration) string {
			rate := float64(done) / elapsed.Seconds()
			return fmt.Sprintf("%s: %d/%d tokens (%.0f%%), %.0f tok/s", what, done, total, 100*float64(done)/float64(max(total, 1)), rate)
		},
	})}
}

// setDone records that done tokens are scored (a Score OnProgress).
func (p scoreProgress) setDone(done int) { p.Set(int64(done)) }
