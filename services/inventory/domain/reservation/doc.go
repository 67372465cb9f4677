// Package reservation is the reservation aggregate: one order's request for
// stock, decided once (RESERVED or FAILED) and possibly RELEASED. Its events
// are the inventory service's replies to the fulfilment saga (StockReserved,
// StockReservationFailed, StockReleased with every item). No I/O.
package reservation
