// Package adapters connects the order service's use cases to the outside
// world: OrderStream keeps orders in the PostgreSQL event store, and
// StockCheck and CreditCheck are in-process checks with configurable
// behaviour (until the inventory and payment services answer them).
package adapters
