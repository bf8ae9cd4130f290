//! Receipt arithmetic (ecommerce spec 7): per-line discount and amount paid, the order
//! total shown in the receipt email, and the card type names.

use crate::money::Money;

/// The money columns of one receipt line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptLineAmounts {
    /// The snapshot price (`price`).
    pub price: Money,
    /// `price − line discounted price` when the order has any redemption, else 0
    /// (rendered `"0.0"` by the API).
    pub discount: Money,
    /// `(price − discount) × quantity`.
    pub total_paid: Money,
}

/// Computes a receipt line. `line_discounted_price` is the line's discounted price (which
/// already includes the quantity; lines always have quantity 1, so the original's mixing of
/// per-unit and per-line amounts never shows).
pub fn receipt_line(
    price: Money,
    line_discounted_price: Money,
    quantity: u32,
    order_has_redemption: bool,
) -> ReceiptLineAmounts {
    let discount = if order_has_redemption {
        price - line_discounted_price
    } else {
        Money::ZERO
    };
    ReceiptLineAmounts {
        price,
        discount,
        total_paid: (price - discount) * quantity,
    }
}

/// The order total of the receipt email: Σ line `total_paid`, shown with 2 decimals.
pub fn receipt_total(lines: &[ReceiptLineAmounts]) -> Money {
    lines.iter().map(|l| l.total_paid).sum()
}

/// The card brand for a CyberSource `req_card_type` code (`001` → Visa, ...).
pub fn card_type_name(code: &str) -> Option<&'static str> {
    match code {
        "001" => Some("Visa"),
        "002" => Some("Mastercard"),
        "003" => Some("American Express"),
        "004" => Some("Discover"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn receipt_line_math() {
        let p = Money::from_cents(100_000);
        let with_code = receipt_line(p, Money::from_cents(80_000), 1, true);
        assert_eq!(with_code.discount.amount(), dec!(200.00));
        assert_eq!(with_code.total_paid.to_price_string(), "800.00");
        // No redemption: the discount is 0 even if prices differ.
        let plain = receipt_line(p, Money::from_cents(80_000), 1, false);
        assert_eq!((plain.discount, plain.total_paid), (Money::ZERO, p));
        let total = receipt_total(&[with_code, plain]);
        assert_eq!(total.to_price_string(), "1800.00");
        let two = receipt_line(Money::from_cents(5000), Money::from_cents(5000), 2, true);
        assert_eq!(two.total_paid.to_price_string(), "100.00");
    }

    #[test]
    fn card_types() {
        assert_eq!(card_type_name("001"), Some("Visa"));
        assert_eq!(card_type_name("002"), Some("Mastercard"));
        assert_eq!(card_type_name("003"), Some("American Express"));
        assert_eq!(card_type_name("004"), Some("Discover"));
        assert_eq!(card_type_name("999"), None);
    }
}
