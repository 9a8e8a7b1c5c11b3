package data

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sinktrain/sinktrain/internal/progress"
)

// ppProgress reports one stage of a long job: a progress bar on a terminal,
// plain log lines (start, every 10%, done) otherwise, nothing when w is nil.
type ppProgress struct {
	*progress.Reporter
	stage string
}

func ppStart(w io.Writer, stage string, total int64, bytes bool) *ppProgress {
	amount, unit := func(n int64) string { return fmt.Sprintf("%d", n) }, ""
	if bytes {
		amount, unit = func(n int64) string { return progress.Bytes(float64(n)) }, " of text"
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowCount(), progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	}
	p := &ppProgress{stage: stage, Reporter: progress.New(w, total, progress.Options{
		Description: stage, Bar: opts, Every: total / 10,
		Line: func(done, total int64, _ time.Duration) string {
			if total <= 0 || done >= total {
				return ""
			}
			return fmt.Sprintf("%s: %d%% (%s of %s)", stage, 100*done/total, amount(done), amount(total))
		},
	})}
	if !p.Terminal() {
		p.Printf("%s: started (%s%s)\n", stage, amount(total), unit)
	}
	return p
}

// finish ends the stage with a "done" line that ends in summary.
func (p *ppProgress) finish(summary string) {
	p.Finish()
	p.Printf("%s: done in %.1fs%s\n", p.stage, p.Elapsed().Seconds(), summary)
}
