package service

import (
	"context"
	"fmt"
	"io"

	"github.com/stratahq/strata/console"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/upcasters"
)

// Decoder decodes any stored version of the shop's events into today's Go
// types (the generated type registry and the order service's upcasters).
func Decoder() (*upcasters.Upcaster, error) {
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return nil, err
	}
	return upcasters.New(types, upcast.Chains()...)
}

// Rebuild is `projector rebuild NAME [--database-url URL] [--batch N]`:
// projection.RebuildMain with the projector's projections and decoder.
func Rebuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	dec, err := Decoder()
	if err != nil {
		fmt.Fprintf(stderr, "rebuild: %v\n", err)
		return 1
	}
	return projection.RebuildMain(ctx, args, stdout, stderr, dec, Projections()...)
}

// ConsoleOption gives the operator console (projector console) the shop's
// event types, upcasters and projections, so it shows events as today's
// types and rebuilds the read models.
func ConsoleOption(cfg *console.Config) error {
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	up, err := upcasters.New(types, upcast.Chains()...)
	if err != nil {
		return err
	}
	cfg.Types, cfg.Upcaster, cfg.Projections = types, up, Projections()
	return nil
}
