// Package command holds the payment service's use cases: authorise and refund
// a payment on the fulfilment saga's commands. Handlers are idempotent: the
// events of a command get ids derived from the command id (a redelivered
// command re-appends the same ids, a no-op), and the aggregate decides nothing
// for a command its state already reflects.
package command
