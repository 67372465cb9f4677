// Package fulfilment is the order-fulfilment saga: its steps and the
// commands they send, and how participants' events answer them. Pure: it
// builds values, the saga engine persists and sends them.
//
//	place_order      (done by OrderPlaced)   compensation CancelOrder  -> OrderCancelled
//	process_payment  AuthorizePayment -> PaymentAuthorized | PaymentFailed
//	                 compensation RefundPayment -> PaymentRefunded | PaymentRefundFailed
//	reserve_stock    ReserveStock -> StockReserved | StockReservationFailed
//	                 compensation ReleaseStock -> StockReleased
//	confirm_order    ConfirmOrder -> OrderConfirmed
//
// The saga id is the order id; payment and reservation ids are derived from
// it, so every command is idempotent at its receiver.
package fulfilment
