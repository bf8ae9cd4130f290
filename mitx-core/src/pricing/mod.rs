//! Pricing: discounts and their validity, best price, basket precedence, and flexible
//! (income-based) pricing (ecommerce spec section 2; pricing-and-b2b spec sections 1-3).

mod discount;
mod price;

pub use discount::{
    Discount, DiscountCode, DiscountCodeError, DiscountType, PaymentType, RedemptionType,
};
pub use price::best_price;
