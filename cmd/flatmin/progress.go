package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress is a one-line progress bar on a terminal; on a pipe or a file it
// writes nothing.
type progress struct {
	w            io.Writer // nil when quiet
	label        string
	total        int
	mu           sync.Mutex
	last         time.Time
	start        time.Time
	drawnAtLeast bool
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{label: label, total: total, start: time.Now()}
	if isTerminal(w) {
		p.w = w
	}
	return p
}

// set shows i of total done, with a note; redraws at most ten times a second.
func (p *progress) set(i int, note string) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond && i < p.total {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = min(width, width*i/p.total)
	}
	fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %d/%d %s %s", p.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		i, p.total, time.Since(p.start).Round(time.Second), note)
	p.drawnAtLeast = true
}

// done clears the line.
func (p *progress) done() {
	if p == nil || p.w == nil || !p.drawnAtLeast {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
}
