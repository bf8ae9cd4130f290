//! B2B organizations, contracts, seats and enrollment codes (pricing-and-b2b spec section 5).
