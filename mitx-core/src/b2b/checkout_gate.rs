//! Checkout gating for contract products (pricing-and-b2b spec 5.8; ecommerce spec
//! checkout rows 5 and 6, both reported with the `invalid_discounts` flag).

use serde::{Deserialize, Serialize};

use super::Contract;
use crate::ids::ProductId;

/// Why a basket with contract products may not be checked out. The Display text is the
/// user message type the checkout reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CheckoutGateError {
    /// A contract needs a code (priced, or free but the user is not attached) and the
    /// basket holds no discount.
    #[error("b2b-error-missing-enrollment-code")]
    MissingEnrollmentCode,
    /// The basket's discount is not linked to a product of those contracts.
    #[error("b2b-invalid-basket")]
    InvalidBasket,
}

/// A contract of a course-run product in the basket.
#[derive(Clone, Copy, Debug)]
pub struct BasketContract<'a> {
    /// The contract.
    pub contract: &'a Contract,
    /// The user is attached to the contract.
    pub user_attached: bool,
    /// The active products of the contract's runs.
    pub active_products: &'a [ProductId],
}

/// Whether the basket may go to checkout. Only contracts with the active flag count
/// (dates are not checked here). Free contracts the user is attached to need nothing;
/// the others ("remaining free" and priced ones) need a basket discount linked to one of
/// their active products. `basket_discounts` lists, per basket discount, the products it
/// is linked to.
pub fn check_b2b_basket(
    contracts: &[BasketContract<'_>],
    basket_discounts: &[&[ProductId]],
) -> Result<(), CheckoutGateError> {
    let needing_code: Vec<&BasketContract<'_>> = contracts
        .iter()
        .filter(|c| c.contract.active)
        .filter(|c| !c.contract.is_free() || !c.user_attached)
        .collect();
    if needing_code.is_empty() {
        return Ok(());
    }
    if basket_discounts.is_empty() {
        return Err(CheckoutGateError::MissingEnrollmentCode);
    }
    let linked = basket_discounts.iter().any(|products| {
        needing_code
            .iter()
            .any(|c| c.active_products.iter().any(|p| products.contains(p)))
    });
    if linked {
        Ok(())
    } else {
        Err(CheckoutGateError::InvalidBasket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::contract::tests::k42;
    use crate::money::Money;

    #[test]
    fn pricing_s45_free_contract_without_attachment_needs_a_code() {
        let k = k42();
        let products = [ProductId(1)];
        let contracts = [BasketContract {
            contract: &k,
            user_attached: false,
            active_products: &products,
        }];
        let err = check_b2b_basket(&contracts, &[]).unwrap_err();
        assert_eq!(err, CheckoutGateError::MissingEnrollmentCode);
        assert_eq!(err.to_string(), "b2b-error-missing-enrollment-code");
    }

    #[test]
    fn gate_rules() {
        let free = k42();
        let mut priced = k42();
        priced.enrollment_fixed_price = Some(Money::from_cents(100));
        let mut inactive = priced.clone();
        inactive.active = false;
        let products = [ProductId(1)];
        let bc = |contract, user_attached| BasketContract {
            contract,
            user_attached,
            active_products: &products,
        };
        let linked: &[ProductId] = &[ProductId(1)];
        let elsewhere: &[ProductId] = &[ProductId(2)];
        // Attached to a free contract: allowed without a code.
        assert_eq!(check_b2b_basket(&[bc(&free, true)], &[]), Ok(()));
        // Inactive contracts are ignored.
        assert_eq!(check_b2b_basket(&[bc(&inactive, false)], &[]), Ok(()));
        // A priced contract needs a code even when attached.
        assert_eq!(
            check_b2b_basket(&[bc(&priced, true)], &[]),
            Err(CheckoutGateError::MissingEnrollmentCode)
        );
        assert_eq!(check_b2b_basket(&[bc(&priced, true)], &[linked]), Ok(()));
        let err = check_b2b_basket(&[bc(&priced, true)], &[elsewhere]).unwrap_err();
        assert_eq!(err.to_string(), "b2b-invalid-basket");
        // No contracts: allowed.
        assert_eq!(check_b2b_basket(&[], &[elsewhere]), Ok(()));
    }
}
