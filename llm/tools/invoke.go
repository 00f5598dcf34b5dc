package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
)

// Codes of a Result that reports a failure. They are stable: a server may
// log, count and show them.
const (
	// CodeInvalidArguments: the arguments are not a JSON object that
	// matches the tool's schema; the tool was not called.
	CodeInvalidArguments = "invalid_arguments"
	// CodeToolError: the tool returned an error, or cannot be called (nil
	// tool, a schema that does not resolve).
	CodeToolError = "tool_error"
	// CodePanic: the tool panicked; the panic was recovered.
	CodePanic = "panic"
	// CodeTimeout: the tool did not return within its timeout, or before
	// the caller's deadline.
	CodeTimeout = "timeout"
	// CodeCancelled: the caller cancelled the call's context.
	CodeCancelled = "cancelled"
)

// DefaultTimeout bounds a call when neither the tool's Timeout nor the
// defaultTimeout given to Invoke is positive.
const DefaultTimeout = 30 * time.Second

// Limits on the text a failed call sends back to the model.
const (
	// MaxErrorBytes caps the text of a tool's error in Result.Content.
	MaxErrorBytes = 1000
	// MaxValidationBytes caps the validator's message in Result.Content.
	MaxValidationBytes = 300
)

// Result is the outcome of one Invoke.
type Result struct {
	// Content is the text for the model: the tool's output, or a short
	// message saying what went wrong.
	Content string
	// IsError reports a failed call; Code then says how it failed.
	IsError bool
	// Code is one of the Code constants when IsError is set, else empty.
	Code string
	// Err is the cause of a failure, for the server's log only: it may hold
	// internal detail (a panic's stack) that must not reach the model or
	// the user.
	Err error
	// Done is closed once the tool's Call has returned, or at once when
	// Call was never started. After a timeout or a cancellation it may
	// still be open: a tool that ignores its context keeps running in the
	// background until it returns. A server that must leave nothing
	// running waits on Done, bounded by its own deadline. Never nil.
	Done <-chan struct{}
}

// Invoke runs one call of t with arguments, the JSON text the model
// produced, and returns its result. It never panics and never returns an
// error: every failure is an error Result.
//
// In order:
//   - arguments must be a JSON object; an empty (or blank) string counts
//     as {}. It is validated against t's InputSchema (with t's Validator if
//     it has one, else by resolving the schema for this call). Invalid
//     arguments give CodeInvalidArguments and t is not called.
//   - t.Call runs under a context bounded by t.Timeout, or by
//     defaultTimeout when t's is not positive, or by DefaultTimeout when
//     neither is. ctx's own deadline and cancellation also apply.
//   - Invoke returns when Call returns or when that context ends,
//     whichever comes first. Call runs in a goroutine of its own so that a
//     tool which ignores its context cannot hold Invoke past the bound;
//     such a tool keeps running until it returns (see Result.Done).
//   - A panic in t gives CodePanic; the bound passing gives CodeTimeout;
//     ctx cancelled gives CodeCancelled; an error from Call gives
//     CodeToolError, with the error's text (capped at MaxErrorBytes) as
//     Content. That text reaches the model, so a tool must not put secrets
//     in its errors; a tool that wants the model to see less than the log
//     returns an *Error.
//
// Invoke is safe for concurrent use.
func Invoke(ctx context.Context, t Tool, arguments string, defaultTimeout time.Duration) (res Result) {
	name := "?"
	defer func() {
		if r := recover(); r != nil {
			res = panicResult(name, r, closedChan())
		}
	}()
	if t == nil {
		return failed(CodeToolError, "tool unavailable", errors.New("tools: nil tool"), closedChan())
	}
	def := t.Def()
	name = def.Name

	args, res, ok := checkArguments(t, def.InputSchema, arguments)
	if !ok {
		return res
	}
	if ctx.Err() != nil {
		return contextResult(name, ctx, 0, closedChan())
	}

	d := t.Timeout()
	if d <= 0 {
		d = defaultTimeout
	}
	if d <= 0 {
		d = DefaultTimeout
	}
	cause := &timeoutError{name: name, after: d}
	cctx, cancel := context.WithTimeoutCause(ctx, d, cause)
	defer cancel()

	done := make(chan struct{})
	var (
		out      string
		callErr  error
		panicked bool
		pval     any
		stack    []byte
	)
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				panicked, pval, stack = true, r, debug.Stack()
			}
		}()
		out, callErr = t.Call(cctx, args)
	}()

	select {
	case <-done:
	case <-cctx.Done():
		select {
		case <-done: // returned at the same moment: keep its result
		default:
			return contextResult(name, cctx, d, done)
		}
	}
	switch {
	case panicked:
		return Result{
			Content: "the tool failed unexpectedly",
			IsError: true,
			Code:    CodePanic,
			Err:     fmt.Errorf("tools: tool %q panicked: %v\n%s", name, pval, stack),
			Done:    done,
		}
	case callErr != nil:
		if cctx.Err() != nil && (errors.Is(callErr, context.Canceled) || errors.Is(callErr, context.DeadlineExceeded)) {
			r := contextResult(name, cctx, d, done)
			r.Err = fmt.Errorf("%w (tool returned: %w)", r.Err, callErr)
			return r
		}
		text := callErr.Error()
		var te *Error
		if errors.As(callErr, &te) {
			text = te.Message
		}
		if text == "" {
			text = "the tool failed"
		}
		return failed(CodeToolError, capText(text, MaxErrorBytes), fmt.Errorf("tools: tool %q: %w", name, callErr), done)
	default:
		return Result{Content: out, Done: done}
	}
}

// Error is a tool error that tells the model less than the log: Invoke
// sends Message to the model and keeps the whole error, cause included, in
// Result.Err.
type Error struct {
	// Message is the text for the model.
	Message string
	// Err is the cause, for the log; it may be nil.
	Err error
}

// Error returns Message, followed by the cause's text when there is one.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// checkArguments decodes and validates arguments; ok is false when res
// holds the failure.
func checkArguments(t Tool, schema json.RawMessage, arguments string) (raw json.RawMessage, res Result, ok bool) {
	raw = bytes.TrimSpace([]byte(arguments))
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, failed(CodeInvalidArguments, "arguments are not valid JSON",
			fmt.Errorf("tools: %w", err), closedChan()), false
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return nil, failed(CodeInvalidArguments, "arguments must be a JSON object",
			errors.New("tools: arguments are not a JSON object"), closedChan()), false
	}
	var err error
	if val, has := t.(Validator); has {
		err = val.ValidateArguments(obj)
	} else {
		var resolved *jsonschema.Resolved
		resolved, err = resolveSchema(schema)
		if err != nil {
			return nil, failed(CodeToolError, "tool unavailable: its input schema is invalid",
				fmt.Errorf("tools: %w", err), closedChan()), false
		}
		err = resolved.Validate(obj)
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "validating root: ")
		return nil, failed(CodeInvalidArguments, "invalid arguments: "+capText(msg, MaxValidationBytes),
			fmt.Errorf("tools: invalid arguments: %w", err), closedChan()), false
	}
	return raw, Result{}, true
}

// resolveSchema parses and resolves a tool's InputSchema, which must be an
// object schema.
func resolveSchema(raw json.RawMessage) (*jsonschema.Resolved, error) {
	if len(raw) == 0 {
		return nil, errors.New("input schema is empty")
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	if s.Type != "object" {
		return nil, fmt.Errorf("input schema has type %q, want \"object\"", s.Type)
	}
	r, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	return r, nil
}

type timeoutError struct {
	name  string
	after time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("tools: tool %q timed out after %s", e.name, e.after)
}

func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// contextResult reports a call whose context ended: the tool's own bound
// passing, the caller's deadline or the caller's cancellation.
func contextResult(name string, ctx context.Context, d time.Duration, done <-chan struct{}) Result {
	cause := context.Cause(ctx)
	var te *timeoutError
	switch {
	case errors.As(cause, &te):
		return failed(CodeTimeout, fmt.Sprintf("the tool did not finish within %s", d), cause, done)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return failed(CodeTimeout, "the tool did not finish in time",
			fmt.Errorf("tools: tool %q: caller's deadline: %w", name, cause), done)
	default:
		return failed(CodeCancelled, "the tool call was cancelled",
			fmt.Errorf("tools: tool %q: %w", name, cause), done)
	}
}

func panicResult(name string, r any, done <-chan struct{}) Result {
	return failed(CodePanic, "the tool failed unexpectedly",
		fmt.Errorf("tools: tool %q panicked: %v\n%s", name, r, debug.Stack()), done)
}

func failed(code, content string, err error, done <-chan struct{}) Result {
	return Result{Content: content, IsError: true, Code: code, Err: err, Done: done}
}

func closedChan() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// capText returns s cut to at most n bytes on a rune boundary, ending in
// "…" when it was cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
