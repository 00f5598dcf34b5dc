package llmtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/llmtest"
	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// brokenEnv selects the broken provider TestBroken runs the suite against.
const brokenEnv = "LLMTEST_BROKEN_PROVIDER"

// scenarioReply scripts each scenario for a correct scripted provider.
func scenarioReply(s llmtest.Scenario) scripted.Reply {
	words := scripted.Words(llmtest.ReplyText)
	switch s {
	case llmtest.Stall:
		return scripted.Reply{Deltas: words, StallAfter: 1}
	case llmtest.FailBeforeStream:
		return scripted.Reply{StartErr: &llm.Error{Kind: llm.KindRateLimited, Provider: "scripted"}}
	case llmtest.FailMidStream:
		return scripted.Reply{Deltas: words[:2], Err: &llm.Error{Kind: llm.KindOverloaded, Provider: "scripted"}}
	case llmtest.ToolCallStreamed:
		return scripted.Reply{ToolCalls: []llm.ToolCall{{Name: llmtest.ToolName, Arguments: llmtest.ToolArguments}}}
	case llmtest.TwoToolCalls:
		return scripted.Reply{ToolCalls: []llm.ToolCall{
			{Name: llmtest.ToolName, Arguments: llmtest.ToolArguments},
			{Name: llmtest.OtherToolName, Arguments: llmtest.OtherToolArguments},
		}}
	case llmtest.ToolCallInOneChunk:
		return scripted.Reply{ToolCalls: []llm.ToolCall{{Name: llmtest.ToolName, Arguments: llmtest.ToolArguments}}, WholeToolCalls: true}
	case llmtest.Reasoning:
		return scripted.Reply{Reasoning: scripted.Words(llmtest.ReasoningText), ReasoningSignature: "sig", Deltas: scripted.Words(llmtest.ReasonedAnswer)}
	}
	return scripted.Reply{Deltas: words}
}

func correct(s llmtest.Scenario) llm.Provider {
	r := scenarioReply(s)
	return scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return r }))
}

// provider adapts functions to llm.Provider and llm.Stream.
type provider func(ctx context.Context, req llm.Request) (llm.Stream, error)

func (f provider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	return f(ctx, req)
}

type stream struct {
	recv  func() (llm.Event, error)
	close func() error
}

func (s stream) Recv() (llm.Event, error) { return s.recv() }
func (s stream) Close() error             { return s.close() }

// wrapRecv returns a provider whose streams pass every Recv result of the
// correct provider's streams through f.
func wrapRecv(s llmtest.Scenario, f func(inner llm.Stream, ev llm.Event, err error) (llm.Event, error)) llm.Provider {
	p := correct(s)
	return provider(func(ctx context.Context, req llm.Request) (llm.Stream, error) {
		in, err := p.Stream(ctx, req)
		if err != nil {
			return nil, err
		}
		return stream{
			recv:  func() (llm.Event, error) { ev, err := in.Recv(); return f(in, ev, err) },
			close: in.Close,
		}, nil
	})
}

// correctFiles is the FilesFactory of a correct provider: a scripted one
// that refuses GIFs, whose upstream is its record.
func correctFiles(*testing.T) (llm.Provider, func() []llmtest.Received) {
	p := scripted.New(scripted.WithFileTypes("image/png", "image/jpeg", "application/pdf", "text/*"), scripted.WithResponder(func(llm.Request) scripted.Reply {
		return scenarioReply(llmtest.Reply)
	}))
	return p, recorded(p)
}

// recorded returns the upstream function of a scripted provider.
func recorded(p *scripted.Provider) func() []llmtest.Received {
	return func() []llmtest.Received {
		var out []llmtest.Received
		for _, req := range p.Requests() {
			out = append(out, llmtest.ReceivedOf(req))
		}
		return out
	}
}

// filesWrapper is a provider that declares the file types of a correct
// one but passes each request through change to an inner scripted
// provider accepting every file, which is its upstream.
func filesWrapper(change func(llm.Request) llm.Request) llmtest.FilesFactory {
	return func(t *testing.T) (llm.Provider, func() []llmtest.Received) {
		declared, _ := correctFiles(t)
		inner := scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply { return scenarioReply(llmtest.Reply) }))
		return declaring{declared: declared.(llm.FileSupport), stream: func(ctx context.Context, req llm.Request) (llm.Stream, error) {
			return inner.Stream(ctx, change(req))
		}}, recorded(inner)
	}
}

// declaring accepts the files declared accepts and streams with stream.
type declaring struct {
	declared llm.FileSupport
	stream   provider
}

func (d declaring) AcceptsFile(mt string) bool { return d.declared.AcceptsFile(mt) }
func (d declaring) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	return d.stream(ctx, req)
}

// changeFiles returns a copy of req whose file parts went through f,
// which drops a part by returning false.
func changeFiles(req llm.Request, f func(*llm.File) bool) llm.Request {
	msgs := slices.Clone(req.Messages)
	for i := range msgs {
		var parts []llm.Part
		for _, p := range msgs[i].Parts {
			if p.Kind == llm.PartFile {
				c := *p.File
				if !f(&c) {
					continue
				}
				p.File = &c
			}
			parts = append(parts, p)
		}
		msgs[i].Parts = parts
	}
	req.Messages = msgs
	return req
}

// broken lists providers with one defect each, and the check that must
// catch it.
var broken = map[string]struct {
	check string // subtest path under Run
	want  string // a regular expression the failure message matches
	make  func(s llmtest.Scenario) llm.Provider
}{
	"ignores-cancel": {"Cancel/RecvReturnsCanceledWithin1s", "did not return within 1s", func(s llmtest.Scenario) llm.Provider {
		p := correct(s)
		return provider(func(ctx context.Context, req llm.Request) (llm.Stream, error) {
			return p.Stream(context.WithoutCancel(ctx), req)
		})
	}},
	"slow-cancel": {"Cancel/RecvReturnsCanceledWithin1s", "did not return within 1s", func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if errors.Is(err, context.Canceled) {
				<-time.After(1500 * time.Millisecond) // deliberately slow to report
			}
			return ev, err
		})
	}},
	"drops-a-delta": {"Reply/CompleteAndInOrder", "want ReplyText", func(s llmtest.Scenario) llm.Provider {
		n := 0
		return wrapRecv(s, func(in llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if ev.Kind == llm.EventDelta {
				if n++; n == 2 {
					return in.Recv()
				}
			}
			return ev, err
		})
	}},
	"delta-after-finish": {"Reply/CompleteAndInOrder", "finish must be last", func(s llmtest.Scenario) llm.Provider {
		extra := true
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if err == io.EOF && extra {
				extra = false
				return llm.Event{Kind: llm.EventDelta, Text: "!"}, nil
			}
			return ev, err
		})
	}},
	"wrapped-eof": {"Reply/CompleteAndInOrder", "want io.EOF itself", func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if err == io.EOF {
				return ev, fmt.Errorf("done: %w", err)
			}
			return ev, err
		})
	}},
	"eof-once": {"Reply/EOFAfterFinishRepeats", "want io.EOF again", func(s llmtest.Scenario) llm.Provider {
		eofs := 0
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if err == io.EOF {
				if eofs++; eofs > 1 {
					return ev, errors.New("stream already read")
				}
			}
			return ev, err
		})
	}},
	"wrong-kind": {"Errors/RateLimitedBeforeStream", `error kind "unknown", want "rate_limited"`, func(s llmtest.Scenario) llm.Provider {
		if s == llmtest.FailBeforeStream {
			return scripted.New(scripted.WithResponder(func(llm.Request) scripted.Reply {
				return scripted.Reply{StartErr: &llm.Error{Kind: llm.KindUnknown, Provider: "x"}}
			}))
		}
		return correct(s)
	}},
	"untyped-error": {"Errors/OverloadedMidStream", `holds no \*llm\.Error`, func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if err != nil && err != io.EOF {
				return ev, errors.New("overloaded")
			}
			return ev, err
		})
	}},
	"close-does-nothing": {"Close/AbandonsStalledStream", "Recv: no return within 1s", func(s llmtest.Scenario) llm.Provider {
		p := correct(s)
		return provider(func(ctx context.Context, req llm.Request) (llm.Stream, error) {
			in, err := p.Stream(ctx, req)
			if err != nil {
				return nil, err
			}
			return stream{recv: in.Recv, close: func() error { return nil }}, nil
		})
	}},
	"goroutine-outlives-close": {"Leaks/NoGoroutineLeftAfter50AbandonedStreams", "goroutines left", func(s llmtest.Scenario) llm.Provider {
		p := correct(s)
		return provider(func(ctx context.Context, req llm.Request) (llm.Stream, error) {
			go func() { <-ctx.Done() }() // a watcher only the context ends
			return p.Stream(ctx, req)
		})
	}},
	"call-arguments-differ-from-deltas": {"ToolCalls/StreamedCallIsCompleteAndFinishesToolCalls", "arguments .* differ from its deltas", func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if ev.Kind == llm.EventToolCall {
				ev.Call.Arguments += " "
			}
			return ev, err
		})
	}},
	"calls-finish-stop": {"ToolCalls/TwoCallsInOneStep", `then finish reason "stop"`, func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if ev.Kind == llm.EventFinish {
				ev.FinishReason = llm.FinishStop
			}
			return ev, err
		})
	}},
	"call-never-completed": {"ToolCalls/StreamedCallIsCompleteAndFinishesToolCalls", "no EventToolCall completed it", func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(in llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if ev.Kind == llm.EventToolCall {
				return in.Recv()
			}
			return ev, err
		})
	}},
	"unstreamed-call-dropped": {"ToolCalls/CallInOneChunk", "0 tool calls, want 1", func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(in llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if ev.Kind == llm.EventToolCall {
				return in.Recv()
			}
			return ev, err
		})
	}},
	"deltas-without-start": {"ToolCalls/TwoCallsInOneStep", "before its start", func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(in llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if ev.Kind == llm.EventToolCallStart {
				return in.Recv()
			}
			return ev, err
		})
	}},
	"reasoning-as-text": {"Reasoning/StreamedApartFromText", "want ReasonedAnswer", func(s llmtest.Scenario) llm.Provider {
		return wrapRecv(s, func(_ llm.Stream, ev llm.Event, err error) (llm.Event, error) {
			if ev.Kind == llm.EventReasoning && ev.Text != "" {
				ev.Kind = llm.EventDelta
			}
			return ev, err
		})
	}},
	"streams-share-state": {"Reply/ConcurrentStreams", `stream \d: (io.EOF came without a finish|deltas spell)`, func(s llmtest.Scenario) llm.Provider {
		p := correct(s)
		var (
			once   sync.Once
			shared llm.Stream
			mu     sync.Mutex
		)
		return provider(func(ctx context.Context, req llm.Request) (llm.Stream, error) {
			var err error
			once.Do(func() { shared, err = p.Stream(context.WithoutCancel(ctx), req) })
			if err != nil {
				return nil, err
			}
			return stream{
				recv: func() (llm.Event, error) {
					mu.Lock()
					defer mu.Unlock()
					return shared.Recv()
				},
				close: func() error { return nil },
			}, nil
		})
	}},
}

// brokenFiles lists providers whose file handling has one defect each, and
// the check of RunFiles that must catch it; their other checks run on the
// correct provider.
var brokenFiles = map[string]struct {
	check string // subtest path under RunFiles
	want  string // a regular expression the failure message matches
	files llmtest.FilesFactory
}{
	"drops-images": {"Files/AcceptedFilesReachTheUpstream", `"photo.png" \(image/png\) did not reach the upstream`,
		filesWrapper(func(req llm.Request) llm.Request {
			return changeFiles(req, func(f *llm.File) bool { return !strings.HasPrefix(f.MediaType, "image/") })
		})},
	"drops-text-files": {"Files/AcceptedFilesReachTheUpstream", `text file .* is neither`,
		filesWrapper(func(req llm.Request) llm.Request {
			return changeFiles(req, func(f *llm.File) bool { return !strings.HasPrefix(f.MediaType, "text/") })
		})},
	"labels-every-image-png": {"Files/AcceptedFilesReachTheUpstream", `"scan.jpg" \(image/jpeg.*came as "scan.jpg" \(image/png`,
		filesWrapper(func(req llm.Request) llm.Request {
			return changeFiles(req, func(f *llm.File) bool {
				if strings.HasPrefix(f.MediaType, "image/") {
					f.MediaType = "image/png"
				}
				return true
			})
		})},
	"sends-refused-files": {"Files/RefusedTypeSendsNothing", `a refused image/gif file started`,
		filesWrapper(func(req llm.Request) llm.Request { return req })},
	"changes-the-request": {"Files/AcceptedFilesReachTheUpstream", "changed the request",
		filesWrapper(func(req llm.Request) llm.Request {
			for _, m := range req.Messages {
				for _, p := range m.Parts {
					if p.Kind == llm.PartFile {
						p.File.Name = strings.ToUpper(p.File.Name)
					}
				}
			}
			return req
		})},
}

// TestBroken runs the suite against the broken provider named by
// brokenEnv; TestSuiteCatchesBrokenProviders runs it in a child process.
func TestBroken(t *testing.T) {
	name := os.Getenv(brokenEnv)
	b, ok := broken[name]
	bf, okFiles := brokenFiles[name]
	switch {
	case !ok && !okFiles:
		t.Skip(brokenEnv + " names no broken provider")
	case !ok:
		b.make = correct
	case !okFiles:
		bf.files = correctFiles
	}
	factory := func(t *testing.T, s llmtest.Scenario) llm.Provider { return b.make(s) }
	llmtest.Run(t, factory)
	llmtest.RunToolCalls(t, factory)
	llmtest.RunReasoning(t, factory)
	llmtest.RunFiles(t, bf.files)
}

func TestSuiteCatchesBrokenProviders(t *testing.T) {
	type defect struct{ check, want string }
	all := map[string]defect{}
	for name, b := range broken {
		all[name] = defect{b.check, b.want}
	}
	for name, b := range brokenFiles {
		all[name] = defect{b.check, b.want}
	}
	for name, b := range all {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pattern := "^TestBroken$"
			for part := range strings.SplitSeq(b.check, "/") {
				pattern += "/^" + part + "$"
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("want the suite to fail, got %v:\n%s", err, out)
			}
			if failed := "--- FAIL: TestBroken/" + b.check + " "; !strings.Contains(string(out), failed) {
				t.Fatalf("want %q in the output:\n%s", failed, out)
			}
			if !regexp.MustCompile(b.want).Match(out) {
				t.Fatalf("want %q in the output:\n%s", b.want, out)
			}
		})
	}
}
