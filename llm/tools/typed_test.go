package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

type address struct {
	City    string `json:"city" jsonschema:"the city name"`
	Country string `json:"country,omitempty"`
}

type orderInput struct {
	Item     string   `json:"item" jsonschema:"what to order"`
	Quantity int      `json:"quantity"`
	Ship     address  `json:"ship_to"`
	Notes    []string `json:"notes,omitempty"`
	Gift     bool     `json:"gift,omitzero"`
	internal string
}

type orderOutput struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

func newOrderTool(t *testing.T, opts ...tools.Option) tools.Tool {
	t.Helper()
	tool, err := tools.New("place_order", "Places an order.", func(_ context.Context, in orderInput) (orderOutput, error) {
		return orderOutput{ID: "o-" + in.Item, Total: in.Quantity * 3}, nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

// schemaNode is the part of a JSON Schema the tests look at.
type schemaNode struct {
	Type                 any                    `json:"type"`
	Description          string                 `json:"description"`
	Properties           map[string]*schemaNode `json:"properties"`
	Required             []string               `json:"required"`
	AdditionalProperties any                    `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
}

func TestNewDerivesSchema(t *testing.T) {
	tool := newOrderTool(t)
	def := tool.Def()
	if def.Name != "place_order" || def.Description != "Places an order." {
		t.Fatalf("def = %q, %q", def.Name, def.Description)
	}
	var s schemaNode
	if err := json.Unmarshal(def.InputSchema, &s); err != nil {
		t.Fatalf("schema %s: %v", def.InputSchema, err)
	}
	if s.Type != "object" {
		t.Errorf("type = %v, want object", s.Type)
	}
	if want := []string{"item", "quantity", "ship_to"}; !reflect.DeepEqual(s.Required, want) {
		t.Errorf("required = %v, want %v", s.Required, want)
	}
	if s.AdditionalProperties != false {
		t.Errorf("additionalProperties = %v, want false", s.AdditionalProperties)
	}
	if len(s.Properties) != 5 {
		t.Errorf("properties = %v, want item, quantity, ship_to, notes, gift", keys(s.Properties))
	}
	if p := s.Properties["item"]; p == nil || p.Type != "string" || p.Description != "what to order" {
		t.Errorf("item = %+v", p)
	}
	if p := s.Properties["quantity"]; p == nil || p.Type != "integer" {
		t.Errorf("quantity = %+v", p)
	}
	ship := s.Properties["ship_to"]
	if ship == nil || ship.Type != "object" {
		t.Fatalf("ship_to = %+v", ship)
	}
	if want := []string{"city"}; !reflect.DeepEqual(ship.Required, want) {
		t.Errorf("ship_to.required = %v, want %v", ship.Required, want)
	}
	if c := ship.Properties["city"]; c == nil || c.Description != "the city name" {
		t.Errorf("ship_to.city = %+v", c)
	}
	if n := s.Properties["notes"]; n == nil || n.Items == nil || n.Items.Type != "string" {
		t.Errorf("notes = %+v", n)
	}
	if _, ok := s.Properties["internal"]; ok {
		t.Error("unexported field in schema")
	}
	if tool.NeedsApproval() || tool.Timeout() != 0 {
		t.Errorf("defaults: approval %v timeout %v", tool.NeedsApproval(), tool.Timeout())
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestNewOptions(t *testing.T) {
	tool := newOrderTool(t, tools.WithApproval(), tools.WithTimeout(3*time.Second))
	if !tool.NeedsApproval() {
		t.Error("NeedsApproval = false")
	}
	if tool.Timeout() != 3*time.Second {
		t.Errorf("Timeout = %v", tool.Timeout())
	}
}

func TestNewDefIsACopy(t *testing.T) {
	tool := newOrderTool(t)
	d := tool.Def()
	want := string(d.InputSchema)
	for i := range d.InputSchema {
		d.InputSchema[i] = 'x'
	}
	if got := string(tool.Def().InputSchema); got != want {
		t.Errorf("schema changed through a returned Def: %s", got)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	fn := func(context.Context, int) (string, error) { return "", nil }
	_, err := tools.New("bad name!", "", fn, tools.WithTimeout(0), nil)
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, tools.ErrInvalidName) {
		t.Errorf("error does not wrap ErrInvalidName: %v", err)
	}
	for _, want := range []string{"bad name!", "description is required", "WithTimeout(0s)", "nil option", "not a struct"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	_, err = tools.New[orderInput, string]("ok", "does things", nil)
	if err == nil || !strings.Contains(err.Error(), "function is nil") {
		t.Errorf("nil function: %v", err)
	}

	type withChan struct {
		C chan int `json:"c"`
	}
	_, err = tools.New("ok", "does things", func(context.Context, withChan) (string, error) { return "", nil })
	if err == nil || !strings.Contains(err.Error(), "input schema") {
		t.Errorf("channel field: %v", err)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "get_weather", "Tool-2", strings.Repeat("x", 64)} {
		if err := tools.ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a.b", "a b", "é", "a/b"} {
		if err := tools.ValidateName(bad); !errors.Is(err, tools.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestTypedResult(t *testing.T) {
	ctx := context.Background()
	r := tools.Invoke(ctx, newOrderTool(t), `{"item":"tea","quantity":2,"ship_to":{"city":"Oslo"}}`, 0)
	if r.IsError || r.Content != `{"id":"o-tea","total":6}` {
		t.Errorf("struct result = %+v", r)
	}

	echo, err := tools.New("echo", "Echoes.", func(_ context.Context, in struct {
		Text string `json:"text"`
	}) (string, error) {
		return in.Text, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r = tools.Invoke(ctx, echo, `{"text":"plain \"text\""}`, 0)
	if r.IsError || r.Content != `plain "text"` {
		t.Errorf("string result = %+v", r)
	}
}

func TestCallerRoundTrip(t *testing.T) {
	want := tools.Caller{UserID: "u1", Roles: []string{"admin"}, ConversationID: "c1", ReplyID: "r1", CallID: "call-1"}
	if _, ok := tools.CallerFrom(context.Background()); ok {
		t.Error("caller in an empty context")
	}
	who, err := tools.New("whoami", "Says who calls.", func(ctx context.Context, _ struct{}) (tools.Caller, error) {
		c, ok := tools.CallerFrom(ctx)
		if !ok {
			return tools.Caller{}, errors.New("no caller")
		}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := tools.Invoke(tools.WithCaller(context.Background(), want), who, "", 0)
	if r.IsError {
		t.Fatalf("result = %+v", r)
	}
	var got tools.Caller
	if err := json.Unmarshal([]byte(r.Content), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("caller = %+v, want %+v", got, want)
	}
}
