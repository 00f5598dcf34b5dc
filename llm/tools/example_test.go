package tools_test

import (
	"context"
	"fmt"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

// A typed tool: its schema comes from the input struct; Invoke validates
// the model's arguments before the function runs.
func ExampleNew() {
	type weatherIn struct {
		City string `json:"city" jsonschema:"the city to report on"`
		Unit string `json:"unit,omitempty" jsonschema:"celsius or fahrenheit"`
	}
	type weatherOut struct {
		City        string `json:"city"`
		Temperature int    `json:"temperature"`
	}
	weather, err := tools.New("weather", "Current weather in a city.",
		func(ctx context.Context, in weatherIn) (weatherOut, error) {
			if in.City == "Atlantis" {
				return weatherOut{}, fmt.Errorf("no station in %s", in.City)
			}
			return weatherOut{City: in.City, Temperature: 21}, nil
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(weather.Def().InputSchema))

	ctx := context.Background()
	for _, args := range []string{`{"city":"Lisbon"}`, `{}`, `{"city":"Lisbon","days":3}`, `{"city":"Atlantis"}`} {
		r := tools.Invoke(ctx, weather, args, 0)
		fmt.Printf("%s -> error=%v code=%q %s\n", args, r.IsError, r.Code, r.Content)
	}
	// Output:
	// {"type":"object","properties":{"city":{"type":"string","description":"the city to report on"},"unit":{"type":"string","description":"celsius or fahrenheit"}},"required":["city"],"additionalProperties":false}
	// {"city":"Lisbon"} -> error=false code="" {"city":"Lisbon","temperature":21}
	// {} -> error=true code="invalid_arguments" invalid arguments: required: missing properties: ["city"]
	// {"city":"Lisbon","days":3} -> error=true code="invalid_arguments" invalid arguments: unexpected additional properties ["days"]
	// {"city":"Atlantis"} -> error=true code="tool_error" no station in Atlantis
}
