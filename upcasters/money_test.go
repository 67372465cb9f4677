package upcasters_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stratahq/strata/upcasters"
)

func TestMinorUnits(t *testing.T) {
	cases := []struct {
		major    float64
		currency string
		want     int64
	}{
		{12000, "KRW", 12000},
		{0, "KRW", 0},
		{0.5, "KRW", 1},
		{-0.5, "KRW", -1},
		{2499.5, "KRW", 2500},
		{2499.4999, "KRW", 2499},
		{19.99, "USD", 1999}, // 19.99*100 is 1998.9999999999998 in floating point
		{0.285, "USD", 29},   // math.Round(0.285*100) would give 28
		{-0.285, "USD", -29},
		{0.284, "USD", 28},
		{1.0005, "KWD", 1001},
		{100, "JPY", 100},
		{1e15, "KRW", 1_000_000_000_000_000},
	}
	for _, c := range cases {
		got, err := upcasters.MinorUnits(c.major, c.currency)
		if err != nil || got != c.want {
			t.Errorf("MinorUnits(%v, %s) = %d, %v; want %d", c.major, c.currency, got, err, c.want)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e19, -1e19} {
		if _, err := upcasters.MinorUnits(bad, "KRW"); !errors.Is(err, upcasters.ErrAmountOutOfRange) {
			t.Errorf("MinorUnits(%v) err = %v, want ErrAmountOutOfRange", bad, err)
		}
	}
	if _, err := upcasters.MinorUnits(1, "XXX"); !errors.Is(err, upcasters.ErrUnknownCurrency) {
		t.Errorf("unknown currency err = %v", err)
	}
	if e, ok := upcasters.CurrencyExponent("KRW"); !ok || e != 0 {
		t.Errorf("CurrencyExponent(KRW) = %d, %v", e, ok)
	}
}
