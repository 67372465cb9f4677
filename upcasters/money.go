package upcasters

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// ErrUnknownCurrency is returned by [MinorUnits] for a currency not in the
// exponent table.
var ErrUnknownCurrency = errors.New("upcasters: unknown currency")

// ErrAmountOutOfRange is returned by [MinorUnits] for NaN, infinities and
// amounts whose minor units do not fit in an int64.
var ErrAmountOutOfRange = errors.New("upcasters: amount out of range")

// currencyExponents is the ISO 4217 minor-unit exponent of the currencies
// Strata converts: the number of decimal places of the minor unit.
var currencyExponents = map[string]int{
	// no minor unit in use
	"KRW": 0, "JPY": 0, "VND": 0, "CLP": 0, "ISK": 0, "PYG": 0, "UGX": 0, "XAF": 0, "XOF": 0,
	// two decimals
	"USD": 2, "EUR": 2, "GBP": 2, "CNY": 2, "HKD": 2, "SGD": 2, "TWD": 2, "AUD": 2, "CAD": 2,
	"CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "NZD": 2, "INR": 2, "THB": 2, "PHP": 2, "MYR": 2,
	"IDR": 2, "MXN": 2, "BRL": 2, "PLN": 2, "CZK": 2, "ZAR": 2, "TRY": 2,
	// three decimals
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// CurrencyExponent returns the ISO 4217 minor-unit exponent of currency
// (0 for KRW, 2 for USD, 3 for KWD).
func CurrencyExponent(currency string) (int, bool) {
	e, ok := currencyExponents[currency]
	return e, ok
}

// MinorUnits converts an amount in major units, stored as a double, to
// minor units: major * 10^exponent(currency), rounded half away from zero.
//
// The double is first read as the shortest decimal that round-trips
// (strconv 'g', -1), which is the decimal the writer meant: 0.285 USD is
// 28.5 cents and rounds to 29, where math.Round(0.285*100) would give 28.
// KRW has no minor unit, so 12000.0 won is 12000 and 0.5 won rounds to 1.
func MinorUnits(major float64, currency string) (int64, error) {
	exp, ok := currencyExponents[currency]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownCurrency, currency)
	}
	if math.IsNaN(major) || math.IsInf(major, 0) {
		return 0, fmt.Errorf("%w: %v %s", ErrAmountOutOfRange, major, currency)
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(major, 'g', -1, 64))
	if !ok {
		return 0, fmt.Errorf("%w: %v %s", ErrAmountOutOfRange, major, currency)
	}
	num := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	den := r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	// Half away from zero: |rem| * 2 >= den moves q one step away from zero.
	if rem.Sign() != 0 && new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(int64(num.Sign())))
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("%w: %v %s", ErrAmountOutOfRange, major, currency)
	}
	return q.Int64(), nil
}
