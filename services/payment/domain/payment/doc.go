// Package payment is the payment aggregate: an amount authorised (held) for
// an order and possibly refunded. It has no I/O: the card gateway's answer and
// the time are passed in, and every decision returns the events to append
// (generated Avro types from gen/avro/payment).
//
// States: NEW -> AUTHORIZED -> REFUNDED, NEW -> DECLINED -> REFUNDED (nothing
// to give back), NEW -> REFUNDED (a refund that overtook its authorisation: the
// payment is void and a later authorisation is refused). Every command is
// idempotent: repeating it on a state that already reflects it decides no events.
package payment
