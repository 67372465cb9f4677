// Package stock is the stock aggregate of one product: units on hand and the
// units held by each reservation, so available = on hand - reserved. It has no
// I/O; decisions return the events to append (gen/avro/inventory types, each
// StockReserved/StockReleased on a product's stream listing that product only).
package stock
