package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/chatboxsdk/chatbox/llm"
)

// Option configures a tool made by New.
type Option func(*typedConfig) error

type typedConfig struct {
	approval bool
	timeout  time.Duration
}

// WithApproval makes every call of the tool wait for a person's approval
// before it runs. Default: calls run without approval.
func WithApproval() Option {
	return func(c *typedConfig) error {
		c.approval = true
		return nil
	}
}

// WithTimeout bounds one call of the tool; d must be positive. Default:
// zero, which leaves the bound to the caller of Invoke.
func WithTimeout(d time.Duration) Option {
	return func(c *typedConfig) error {
		if d <= 0 {
			return fmt.Errorf("tools: WithTimeout(%s): must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// New returns a tool that calls fn with its arguments decoded into In.
//
// The tool's InputSchema is derived from In with
// github.com/google/jsonschema-go: In must be a struct; its exported
// fields become properties named by their json tags, a field is required
// unless its tag says omitempty or omitzero, unknown properties are
// refused, and a `jsonschema:"..."` tag describes a property to the model.
//
// The result of fn becomes the tool's text: a string as it is, any other
// type as JSON. An error of fn goes back to the model as an error result
// (see Invoke).
//
// name must satisfy ValidateName and description must not be empty (the
// model chooses tools by it). Every problem with the arguments and the
// options is returned at once, joined with errors.Join.
//
// The tool is safe for concurrent use when fn is.
func New[In, Out any](name, description string, fn func(ctx context.Context, in In) (Out, error), opts ...Option) (Tool, error) {
	var errs []error
	if err := ValidateName(name); err != nil {
		errs = append(errs, err)
	}
	if description == "" {
		errs = append(errs, fmt.Errorf("tools: tool %q: description is required", name))
	}
	if fn == nil {
		errs = append(errs, fmt.Errorf("tools: tool %q: function is nil", name))
	}
	var cfg typedConfig
	for _, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("tools: tool %q: nil option", name))
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	schema, resolved, err := schemaFor[In]()
	if err != nil {
		errs = append(errs, fmt.Errorf("tools: tool %q: %w", name, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &typed[In, Out]{
		def:      llm.ToolDef{Name: name, Description: description, InputSchema: schema},
		cfg:      cfg,
		resolved: resolved,
		fn:       fn,
	}, nil
}

// schemaFor derives and resolves the object schema of In.
func schemaFor[In any]() (json.RawMessage, *jsonschema.Resolved, error) {
	t := reflect.TypeFor[In]()
	if t.Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("input type %s is not a struct", t)
	}
	s, err := jsonschema.For[In](nil)
	if err != nil {
		return nil, nil, fmt.Errorf("input schema of %s: %w", t, err)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, nil, fmt.Errorf("input schema of %s: %w", t, err)
	}
	resolved, err := s.Resolve(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("input schema of %s: %w", t, err)
	}
	return raw, resolved, nil
}

type typed[In, Out any] struct {
	def      llm.ToolDef
	cfg      typedConfig
	resolved *jsonschema.Resolved
	fn       func(context.Context, In) (Out, error)
}

func (t *typed[In, Out]) Def() llm.ToolDef {
	d := t.def
	d.InputSchema = append(json.RawMessage(nil), t.def.InputSchema...)
	return d
}

func (t *typed[In, Out]) NeedsApproval() bool    { return t.cfg.approval }
func (t *typed[In, Out]) Timeout() time.Duration { return t.cfg.timeout }

func (t *typed[In, Out]) ValidateArguments(args map[string]any) error {
	return t.resolved.Validate(args)
}

func (t *typed[In, Out]) Call(ctx context.Context, arguments json.RawMessage) (string, error) {
	var in In
	if len(arguments) > 0 {
		if err := json.Unmarshal(arguments, &in); err != nil {
			return "", fmt.Errorf("decode arguments: %w", err)
		}
	}
	out, err := t.fn(ctx, in)
	if err != nil {
		return "", err
	}
	if s, ok := any(out).(string); ok {
		return s, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode result: %w", err)
	}
	return string(b), nil
}
