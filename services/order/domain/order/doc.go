// Package order is the order aggregate of the shop: its states, invariants and
// the events that record its history. It does no I/O and reads no clock: every
// decision takes the time it happens at from its caller.
//
// Life cycle:
//
//	DRAFT --Place--> PLACED --Confirm--> CONFIRMED --Ship--> SHIPPED
//	                   |                    |
//	                   +------Cancel--------+--> CANCELLED
//
// Decisions (Place, Confirm, Ship, Cancel) return the new events without
// changing the receiver; callers append them to the stream and Apply them. The
// events are the generated Avro types of shop.order (gen/avro/order); Apply is
// a closed switch over them and rejects anything else.
package order
