package adapters

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/stratahq/strata/services/payment/app/command"
	"github.com/stratahq/strata/services/payment/domain/payment"
)

// HTTPGateway is a card gateway reached over HTTP (PAYMENT_GATEWAY_URL): the
// payment service's side of GatewayHandler. Tests run the simulated gateway
// in their own process behind GatewayHandler, so its ledger outlives payment
// processes they kill.
type HTTPGateway struct {
	URL    string // e.g. http://127.0.0.1:9470
	Client *http.Client
}

var _ command.Gateway = (*HTTPGateway)(nil)

type gatewayRequest struct {
	Key        string `json:"key"`
	CustomerID string `json:"customer_id,omitempty"`
	OrderID    string `json:"order_id,omitempty"`
	Amount     int64  `json:"amount,omitempty"`
	Currency   string `json:"currency,omitempty"`
}

type gatewayResponse struct {
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"`
}

func (g *HTTPGateway) call(ctx context.Context, op string, req gatewayRequest) (payment.GatewayAnswer, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return payment.GatewayAnswer{}, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(g.URL, "/")+"/"+op, bytes.NewReader(body))
	if err != nil {
		return payment.GatewayAnswer{}, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Idempotency-Key", req.Key)
	c := g.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(r)
	if err != nil {
		return payment.GatewayAnswer{}, fmt.Errorf("gateway %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return payment.GatewayAnswer{}, fmt.Errorf("gateway %s: HTTP %d", op, resp.StatusCode)
	}
	var out gatewayResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return payment.GatewayAnswer{}, fmt.Errorf("gateway %s: %w", op, err)
	}
	return payment.GatewayAnswer{Approved: out.Approved, Reason: out.Reason}, nil
}

// Authorize implements command.Gateway.
func (g *HTTPGateway) Authorize(ctx context.Context, key, customerID string, amount int64, currency string) (payment.GatewayAnswer, error) {
	return g.call(ctx, "authorize", gatewayRequest{Key: key, CustomerID: customerID, Amount: amount, Currency: currency})
}

// Refund implements command.Gateway.
func (g *HTTPGateway) Refund(ctx context.Context, key, orderID string) (payment.GatewayAnswer, error) {
	return g.call(ctx, "refund", gatewayRequest{Key: key, OrderID: orderID})
}

// Void implements command.Gateway.
func (g *HTTPGateway) Void(ctx context.Context, key string) error {
	_, err := g.call(ctx, "void", gatewayRequest{Key: key})
	return err
}

// GatewayHandler serves g over HTTP for HTTPGateway: POST /authorize,
// /refund and /void with a JSON body.
func GatewayHandler(g command.Gateway) http.Handler {
	mux := http.NewServeMux()
	handle := func(op string, f func(ctx context.Context, req gatewayRequest) (payment.GatewayAnswer, error)) {
		mux.HandleFunc("POST /"+op, func(w http.ResponseWriter, r *http.Request) {
			var req gatewayRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Key == "" {
				http.Error(w, "want a JSON body with a key", http.StatusBadRequest)
				return
			}
			a, err := f(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(gatewayResponse{Approved: a.Approved, Reason: a.Reason})
		})
	}
	handle("authorize", func(ctx context.Context, q gatewayRequest) (payment.GatewayAnswer, error) {
		return g.Authorize(ctx, q.Key, q.CustomerID, q.Amount, q.Currency)
	})
	handle("refund", func(ctx context.Context, q gatewayRequest) (payment.GatewayAnswer, error) {
		return g.Refund(ctx, q.Key, q.OrderID)
	})
	handle("void", func(ctx context.Context, q gatewayRequest) (payment.GatewayAnswer, error) {
		return payment.GatewayAnswer{Approved: true}, g.Void(ctx, q.Key)
	})
	return mux
}
