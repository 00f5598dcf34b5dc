package tools_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

type staticSource []tools.Tool

func (s staticSource) Tools() []tools.Tool { return s }

func names(s *tools.Set) []string {
	var ns []string
	for _, d := range s.Defs() {
		ns = append(ns, d.Name)
	}
	return ns
}

func TestCollect(t *testing.T) {
	a := &rawTool{name: "a", schema: `{"type":"object"}`}
	b := &rawTool{name: "b", schema: `{"type":"object"}`}
	a2 := &rawTool{name: "a", schema: `{"type":"object"}`}
	c := &rawTool{name: "c", schema: `{"type":"object"}`}
	bad := &rawTool{name: "no spaces", schema: `{"type":"object"}`}

	s, err := tools.Collect([]tools.Tool{a, b}, []tools.Source{staticSource{a2, c}, nil, staticSource{bad, nil}})
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(names(s), want) {
		t.Errorf("names = %v, want %v", names(s), want)
	}
	if s.Len() != 3 || len(s.Tools()) != 3 {
		t.Errorf("Len %d, Tools %d", s.Len(), len(s.Tools()))
	}
	if got, ok := s.Lookup("a"); !ok || got != tools.Tool(a) {
		t.Errorf("Lookup(a) = %v, %v: want the first one", got, ok)
	}
	if _, ok := s.Lookup("no spaces"); ok {
		t.Error("invalid tool was kept")
	}
	for _, want := range []error{tools.ErrDuplicateName, tools.ErrInvalidName, tools.ErrNilTool} {
		if !errors.Is(err, want) {
			t.Errorf("error does not report %v: %v", want, err)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 4 {
		t.Errorf("%d errors, want 4 (duplicate, nil source, invalid name, nil tool): %v", n, err)
	}

	defs := s.Defs()
	defs[0].Name = "changed"
	if names(s)[0] != "a" {
		t.Error("Defs shares its slice")
	}
}

func TestCollectEmpty(t *testing.T) {
	s, err := tools.Collect(nil, nil)
	if err != nil || s.Len() != 0 || s.Defs() != nil {
		t.Errorf("empty: %v %v", s, err)
	}
	var nilSet *tools.Set
	if _, ok := nilSet.Lookup("a"); ok || nilSet.Len() != 0 || nilSet.Tools() != nil {
		t.Error("nil set not empty")
	}
}
