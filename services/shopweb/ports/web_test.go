package ports

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
)

// fakeShop: the order service is at orderVersion/orderStatus; the read model
// at readVersion/readStatus (0: not there) and has applied the token only
// when tokenReached.
type fakeShop struct {
	orderVersion, readVersion int64
	orderStatus, readStatus   string
	tokenReached              bool
}

func (f *fakeShop) Place(context.Context, *orderv1.PlaceOrderRequest) (*orderv1.CommandResult, error) {
	return &orderv1.CommandResult{OrderId: "o-1", Version: 1, Position: "p1.tok"}, nil
}
func (f *fakeShop) Confirm(context.Context, *orderv1.ConfirmOrderRequest) (*orderv1.CommandResult, error) {
	return nil, status.Error(codes.FailedPrecondition, "order o-1 is CANCELLED")
}
func (f *fakeShop) Ship(context.Context, *orderv1.ShipOrderRequest) (*orderv1.CommandResult, error) {
	return &orderv1.CommandResult{OrderId: "o-1", Version: 3, Position: "p1.ship"}, nil
}
func (f *fakeShop) Cancel(context.Context, *orderv1.CancelOrderRequest) (*orderv1.CommandResult, error) {
	return &orderv1.CommandResult{OrderId: "o-1", Version: 3, Position: "p1.cancel"}, nil
}
func (f *fakeShop) Order(context.Context, string) (*orderv1.Order, error) {
	return &orderv1.Order{OrderId: "o-1", Version: f.orderVersion, Status: orderv1.OrderStatus(orderv1.OrderStatus_value["ORDER_STATUS_"+f.orderStatus])}, nil
}
func (f *fakeShop) Summary(_ context.Context, _ string, token string) (*queryv1.OrderSummary, error) {
	if token != "" && !f.tokenReached {
		return nil, status.Error(codes.DeadlineExceeded, "position not reached")
	}
	if f.readVersion == 0 {
		return nil, status.Error(codes.NotFound, "no order o-1")
	}
	return &queryv1.OrderSummary{OrderId: "o-1", Version: f.readVersion, Status: queryv1.OrderStatus(queryv1.OrderStatus_value["ORDER_STATUS_"+f.readStatus])}, nil
}
func (f *fakeShop) List(context.Context, string, int) ([]*queryv1.OrderSummary, error) {
	return nil, nil
}

// What the order page shows in each consistency state: never a stale value
// without saying so.
func TestViewStates(t *testing.T) {
	for _, c := range []struct {
		name          string
		shop          fakeShop
		token, expect string
		state, status string
		note          string
	}{
		{"placed, not in the read model yet", fakeShop{orderVersion: 1, orderStatus: "PLACED"}, "p1.tok", "PLACED",
			"pending", "PLACED", "not in it yet"},
		{"shipped, read model still shows confirmed", fakeShop{orderVersion: 3, orderStatus: "SHIPPED", readVersion: 2, readStatus: "CONFIRMED"}, "p1.ship", "SHIPPED",
			"pending", "SHIPPED", "still shows CONFIRMED (version 2)"},
		{"token reached", fakeShop{orderVersion: 3, orderStatus: "SHIPPED", readVersion: 3, readStatus: "SHIPPED", tokenReached: true}, "p1.ship", "SHIPPED",
			"current", "SHIPPED", "Up to date (version 3)"},
		{"the saga moved the order since", fakeShop{orderVersion: 2, orderStatus: "CONFIRMED", readVersion: 1, readStatus: "PLACED", tokenReached: true}, "", "",
			"behind", "PLACED", "Read model behind: it shows version 1; the order is at version 2 (CONFIRMED)"},
		{"unknown to the read model, no token", fakeShop{}, "", "",
			"missing", "UNKNOWN", "does not have this order"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := New(&c.shop, Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			v := w.view(context.Background(), "o-1", c.token, c.expect)
			if v.State != c.state || v.Status != c.status || !strings.Contains(v.Note, c.note) {
				t.Fatalf("view = state %q status %q note %q; want %q %q note containing %q", v.State, v.Status, v.Note, c.state, c.status, c.note)
			}
			srv := httptest.NewServer(w)
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/orders/o-1?after=" + c.token + "&expect=" + c.expect)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `data-state="`+c.state+`"`) {
				t.Fatalf("page has no data-state=%q:\n%s", c.state, body)
			}
		})
	}
}

// A refused command comes back to the order page as an explanation.
func TestRefusedCommand(t *testing.T) {
	w, err := New(&fakeShop{orderVersion: 3, orderStatus: "CANCELLED", readVersion: 3, readStatus: "CANCELLED"}, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	defer srv.Close()
	resp, err := http.PostForm(srv.URL+"/orders/o-1/confirm", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Could not confirm: order o-1 is CANCELLED") {
		t.Fatalf("page:\n%s", body)
	}
}
