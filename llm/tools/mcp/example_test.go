package mcp_test

import (
	"context"
	"fmt"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/llm/tools/mcp"
)

// The tools of an MCP server (here one built with the SDK and reached in
// memory) become chatbox tools, named with a prefix.
func ExampleConnect() {
	ctx := context.Background()
	server := mcpsdk.NewServer(&mcpsdk.Implementation{Name: "greeter", Version: "1"}, nil)
	type greetIn struct {
		Name string `json:"name" jsonschema:"who to greet"`
	}
	mcpsdk.AddTool(server, &mcpsdk.Tool{Name: "greet", Description: "Greets someone."},
		func(_ context.Context, _ *mcpsdk.CallToolRequest, in greetIn) (*mcpsdk.CallToolResult, any, error) {
			return &mcpsdk.CallToolResult{Content: []mcpsdk.Content{&mcpsdk.TextContent{Text: "Hello, " + in.Name + "!"}}}, nil, nil
		})
	clientTransport, serverTransport := mcpsdk.NewInMemoryTransports()
	serving, err := server.Connect(ctx, serverTransport, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer serving.Close()

	c, err := mcp.Connect(ctx, clientTransport, mcp.WithNamePrefix("greeter_"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	set, err := tools.Collect(nil, []tools.Source{c})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range set.Defs() {
		fmt.Println(d.Name, "-", d.Description)
	}
	greet, _ := set.Lookup("greeter_greet")
	fmt.Println(tools.Invoke(ctx, greet, `{"name":"Ada"}`, 0).Content)
	r := tools.Invoke(ctx, greet, `{}`, 0)
	fmt.Println(r.Code, "-", r.Content)
	// Output:
	// greeter_greet - Greets someone.
	// Hello, Ada!
	// invalid_arguments - invalid arguments: required: missing properties: ["name"]
}
