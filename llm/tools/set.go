package tools

import (
	"errors"
	"fmt"
	"slices"

	"github.com/chatboxsdk/chatbox/llm"
)

// ErrDuplicateName reports a tool whose name an earlier tool already has.
var ErrDuplicateName = errors.New("tools: duplicate tool name")

// ErrNilTool reports a nil Tool or Source.
var ErrNilTool = errors.New("tools: nil tool")

// Set is the tools of one request, in order, with unique names. It is
// immutable and safe for concurrent use; the zero Set and a nil *Set are
// empty.
type Set struct {
	tools  []Tool
	defs   []llm.ToolDef
	byName map[string]int
}

// Collect puts tools, then the current tools of each source in order, into
// a Set. Each tool's Def is read once, here.
//
// A tool that cannot be offered is skipped and reported: a nil tool or
// source (ErrNilTool), a name that fails ValidateName (ErrInvalidName), or
// a name an earlier tool already has (ErrDuplicateName; the first one
// stays). The Set is always usable; the error, when not nil, joins one
// error per skipped tool, so a server can refuse bad static tools at
// start and log what a source got wrong while it runs.
//
// Collect calls Def and Source.Tools, which are the host's code.
func Collect(tools []Tool, sources []Source) (*Set, error) {
	s := &Set{byName: make(map[string]int, len(tools))}
	var errs []error
	add := func(where string, t Tool) {
		if t == nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, ErrNilTool))
			return
		}
		def := t.Def()
		if err := ValidateName(def.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			return
		}
		if _, dup := s.byName[def.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: %w %q: skipped", where, ErrDuplicateName, def.Name))
			return
		}
		s.byName[def.Name] = len(s.tools)
		s.tools = append(s.tools, t)
		s.defs = append(s.defs, def)
	}
	for i, t := range tools {
		add(fmt.Sprintf("tools: tool %d", i), t)
	}
	for i, src := range sources {
		if src == nil {
			errs = append(errs, fmt.Errorf("tools: source %d: %w", i, ErrNilTool))
			continue
		}
		for j, t := range src.Tools() {
			add(fmt.Sprintf("tools: source %d tool %d", i, j), t)
		}
	}
	return s, errors.Join(errs...)
}

// Len returns the number of tools in s.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.tools)
}

// Defs returns the definitions of the tools in s, in order, for a request.
// The slice is a fresh copy; the InputSchema bytes are shared and must not
// be modified.
func (s *Set) Defs() []llm.ToolDef {
	if s == nil {
		return nil
	}
	return slices.Clone(s.defs)
}

// Tools returns the tools in s, in order, as a fresh slice.
func (s *Set) Tools() []Tool {
	if s == nil {
		return nil
	}
	return slices.Clone(s.tools)
}

// Lookup returns the tool named name.
func (s *Set) Lookup(name string) (Tool, bool) {
	if s == nil {
		return nil, false
	}
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return s.tools[i], true
}
