package main

import (
	"context"
	"fmt"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

// The demo's tools, over fake orders: the demo model looks an order up when
// asked about one ("where is order 1234?") and asks to refund it when asked
// for a refund ("refund order 1234"); the refund waits for the user's
// approval in the chat page.

type orderQuery struct {
	OrderID string `json:"order_id" jsonschema:"the order's number, such as 1234"`
}

type order struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Item    string `json:"item"`
	Total   string `json:"total"`
}

var demoOrders = map[string]order{
	"1234": {OrderID: "1234", Status: "shipped, arriving Friday", Item: "a blue kettle", Total: "$39.00"},
	"5678": {OrderID: "5678", Status: "delivered on Monday", Item: "two mugs", Total: "$18.50"},
}

func demoTools() ([]tools.Tool, error) {
	lookup, err := tools.New("lookup_order", "Looks up one of the user's orders by its number.",
		func(ctx context.Context, q orderQuery) (order, error) {
			if o, ok := demoOrders[q.OrderID]; ok {
				return o, nil
			}
			return order{}, fmt.Errorf("no order %s for this user", q.OrderID)
		})
	if err != nil {
		return nil, err
	}
	refund, err := tools.New("refund_order", "Refunds one of the user's orders. A person must approve it.",
		func(ctx context.Context, q orderQuery) (string, error) {
			o, ok := demoOrders[q.OrderID]
			if !ok {
				return "", fmt.Errorf("no order %s for this user", q.OrderID)
			}
			return fmt.Sprintf("refunded %s for order %s", o.Total, o.OrderID), nil
		}, tools.WithApproval())
	if err != nil {
		return nil, err
	}
	return []tools.Tool{lookup, refund}, nil
}
