package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// IsTerminal reports whether w is an *os.File attached to a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Options configure a [Reporter].
type Options struct {
	// Description labels the bar.
	Description string
	// Bar holds further bar options (width, throttle, units …); the writer
	// and the description are set by [New].
	Bar []progressbar.Option
	// Line, if set, makes the plain line written off a terminal once one is
	// due; an empty string writes nothing (and the next line stays due).
	Line func(done, total int64, elapsed time.Duration) string
	// A line is due when Interval (if > 0) has passed since the last line
	// (or the start); otherwise when done has grown by Every since the last
	// line (Every 0: after every update).
	Interval time.Duration
	Every    int64
}

// Reporter shows the progress of one job of total units.
type Reporter struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil off a terminal
	o     Options
	total int64
	done  int64
	start time.Time
	// the last plain line: count done and time it was written
	lineDone int64
	lineAt   time.Time
}

// New starts reporting a job of total units to w (nil: report nothing).
func New(w io.Writer, total int64, o Options) *Reporter {
	now := time.Now()
	r := &Reporter{w: w, o: o, total: total, start: now, lineAt: now}
	if w != nil && IsTerminal(w) {
		opts := append([]progressbar.Option{progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(o.Description)}, o.Bar...)
		r.bar = progressbar.NewOptions64(total, opts...)
	}
	return r
}

// Terminal reports whether r shows a bar.
func (r *Reporter) Terminal() bool { return r.bar != nil }

// Elapsed is the time since [New].
func (r *Reporter) Elapsed() time.Duration { return time.Since(r.start) }

// Add records n more units done.
func (r *Reporter) Add(n int64) {
	r.done += n
	if r.bar != nil {
		_ = r.bar.Add64(n)
		return
	}
	r.logLine()
}

// Set records that done units are finished.
func (r *Reporter) Set(done int64) {
	r.done = done
	if r.bar != nil {
		_ = r.bar.Set64(done)
		return
	}
	r.logLine()
}

// logLine writes the plain line off a terminal when one is due.
func (r *Reporter) logLine() {
	switch {
	case r.w == nil || r.o.Line == nil:
	case r.o.Interval > 0 && time.Since(r.lineAt) < r.o.Interval:
	case r.o.Interval <= 0 && r.done < r.lineDone+r.o.Every:
	default:
		if s := r.o.Line(r.done, r.total, r.Elapsed()); s != "" {
			fmt.Fprintln(r.w, s)
			r.lineDone, r.lineAt = r.done, time.Now()
		}
	}
}

// Describe changes the bar's description (no-op off a terminal).
func (r *Reporter) Describe(s string) {
	if r.bar != nil {
		r.bar.Describe(s)
	}
}

// Clear erases the bar so a log line can be printed (no-op off a terminal).
func (r *Reporter) Clear() {
	if r.bar != nil {
		_ = r.bar.Clear()
	}
}

// Finish completes the bar (no-op off a terminal).
func (r *Reporter) Finish() {
	if r.bar != nil {
		_ = r.bar.Finish()
	}
}

// Printf writes to the reporter's writer (no-op for a nil writer).
func (r *Reporter) Printf(format string, args ...any) {
	if r.w != nil {
		fmt.Fprintf(r.w, format, args...)
	}
}

// Bytes words a size in decimal units: "512 B", "3.4 kB", "21.0 MB", "1.2 TB".
func Bytes(n float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	i := 0
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
