//! The order state machine, reference numbers, checkout validation and refunds
//! (ecommerce spec sections 1.4, 3, 4.4, 5).
