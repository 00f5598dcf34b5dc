package main

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// printReport writes the results as tables: absolute figures per target,
// then chatbox's figures as ratios to each floor.
func printReport(w io.Writer, o *options, results []*result) {
	fmt.Fprintf(w, "mode=%s conns=%d deltas/reply=%d interval=%v window=%v server=%s cpus=%d %s\n\n",
		o.mode, o.conns, o.deltas, o.interval, o.duration, o.server, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if o.mode == modeIdle {
		fmt.Fprintln(tw, "target\theld\tRSS/conn\theap/conn\tstacks/conn\tafter GC: heap\tstacks\tgoroutines/conn\tRSS\terrors\t")
		for _, r := range results {
			s := r.Server
			if s == nil {
				fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t-\t-\t-\t-\t%s\t\n", r.Target, r.Held, errText(r.Errors))
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t\n", r.Target, r.Held, kib(s.MemPerConn), kib(s.HeapPerConn), kib(s.StackPerConn),
				kib(s.HeapPerConnGC), kib(s.StackPerConnGC),
				s.GoroutinesPerCn, mib(s.RSSBytes), errText(r.Errors))
		}
	} else {
		fmt.Fprintln(tw, "target\theld\tmsgs/s\tdeltas/s\tframes/s\tCPU/delta\tlat p50\tp99\tp999\tTTFD p50\tp99\tRSS\theap\tgoroutines\terrors\t")
		for _, r := range results {
			rss, heap, gor := "-", "-", "-"
			if s := r.Server; s != nil {
				rss, heap, gor = mib(s.RSSBytes), mib(s.HeapInuse), fmt.Sprint(s.Goroutines)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
				r.Target, r.Held, r.perSecond(r.Replies), r.perSecond(r.Deltas), r.perSecond(r.Frames),
				us(r.cpuPerDelta()), ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.P999),
				ms(r.TTFD.P50), ms(r.TTFD.P99), rss, heap, gor, errText(r.Errors))
		}
		if o.mode == modeResume {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t")
			fmt.Fprintln(tw, "target\tresumes/s\tresume p50\tp99\tp999\tCPU/resume\t")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t\n", r.Target, r.perSecond(r.Resumes),
					ms(r.Resume.P50), ms(r.Resume.P99), ms(r.Resume.P999), us(r.cpuPerResume()))
			}
		}
	}
	_ = tw.Flush()
	for _, r := range results {
		if r.ServerNote != "" {
			fmt.Fprintf(w, "note: %s: %s\n", r.Target, r.ServerNote)
		}
	}
	printRatios(w, o, results)
}

// printRatios divides chatbox's figures by each floor's.
func printRatios(w io.Writer, o *options, results []*result) {
	var cb *result
	var floors []*result
	for _, r := range results {
		if r.Target == kindChatbox {
			cb = r
		} else {
			floors = append(floors, r)
		}
	}
	if cb == nil || len(floors) == 0 {
		return
	}
	fmt.Fprintln(w, "\nchatbox as a ratio to each floor (same run):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "figure\t"
	for _, f := range floors {
		head += "/ " + f.Target + "\t"
	}
	fmt.Fprintln(tw, head)
	row := func(name string, get func(*result) float64) {
		line := name + "\t"
		for _, f := range floors {
			a, b := get(cb), get(f)
			if a == 0 || b == 0 {
				line += "-\t"
				continue
			}
			line += fmt.Sprintf("%.2f×\t", a/b)
		}
		fmt.Fprintln(tw, line)
	}
	server := func(f func(*serverFigures) float64) func(*result) float64 {
		return func(r *result) float64 {
			if r.Server == nil {
				return 0
			}
			return f(r.Server)
		}
	}
	if o.mode == modeIdle {
		row("RSS/conn", server(func(s *serverFigures) float64 { return s.MemPerConn }))
		row("heap/conn", server(func(s *serverFigures) float64 { return s.HeapPerConn }))
		row("stacks/conn", server(func(s *serverFigures) float64 { return s.StackPerConn }))
		row("heap/conn after GC", server(func(s *serverFigures) float64 { return s.HeapPerConnGC }))
		row("stacks/conn after GC", server(func(s *serverFigures) float64 { return s.StackPerConnGC }))
		row("goroutines/conn", server(func(s *serverFigures) float64 { return s.GoroutinesPerCn }))
	} else {
		row("deltas/s", func(r *result) float64 { return r.perSecond(r.Deltas) })
		row("CPU/delta", func(r *result) float64 { return float64(r.cpuPerDelta()) })
		row("latency p50", func(r *result) float64 { return float64(r.Latency.P50) })
		row("latency p99", func(r *result) float64 { return float64(r.Latency.P99) })
		row("latency p999", func(r *result) float64 { return float64(r.Latency.P999) })
		row("TTFD p50", func(r *result) float64 { return float64(r.TTFD.P50) })
		row("TTFD p99", func(r *result) float64 { return float64(r.TTFD.P99) })
		if o.mode == modeResume {
			row("resume p50", func(r *result) float64 { return float64(r.Resume.P50) })
			row("resume p99", func(r *result) float64 { return float64(r.Resume.P99) })
			row("CPU/resume", func(r *result) float64 { return float64(r.cpuPerResume()) })
		}
	}
	_ = tw.Flush()
}

func errText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }
func mib(b int64) string {
	if b < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
func us(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond))
}
func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
