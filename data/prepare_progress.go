package data

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// ppProgress reports one stage of a long job: a progress bar on a terminal,
// plain log lines (start, every 10%, done) otherwise, nothing when w is nil.
type ppProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	stage string
	total int64
	done  int64
	next  int64 // log at this count
	start time.Time
}

func ppStart(w io.Writer, stage string, total int64, bytes bool) *ppProgress {
	p := &ppProgress{w: w, stage: stage, total: total, start: time.Now()}
	if w == nil {
		return p
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(stage),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionShowCount(), progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		}
		if bytes {
			opts = append(opts, progressbar.OptionShowBytes(true))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
		return p
	}
	fmt.Fprintf(w, "%s: started (%d)\n", stage, total)
	p.next = total / 10
	return p
}

func (p *ppProgress) add(n int64) {
	p.done += n
	switch {
	case p.bar != nil:
		p.bar.Add64(n)
	case p.w != nil && p.total > 0 && p.done >= p.next && p.done < p.total:
		fmt.Fprintf(p.w, "%s: %d%% (%d/%d)\n", p.stage, 100*p.done/p.total, p.done, p.total)
		p.next = p.done + p.total/10
	}
}

func (p *ppProgress) finish(summary string) {
	if p.bar != nil {
		p.bar.Finish()
	}
	if p.w != nil {
		fmt.Fprintf(p.w, "%s: done in %.1fs%s\n", p.stage, time.Since(p.start).Seconds(), summary)
	}
}
