//! Enrollment codes of a contract: `ensure_enrollment_codes_exist` as a plan
//! (pricing-and-b2b spec 5.4).
//!
//! Enrollment codes are discounts: code = a random UUID (supplied by the caller), fixed
//! price = contract price or 0, payment type `sales`, bulk, no dates, linked to one
//! contract product.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Contract;
use crate::ids::{DiscountId, ProductId};
use crate::money::Money;
use crate::pricing::{DiscountCode, DiscountDraft, DiscountType, PaymentType, RedemptionType};

/// The code text of a generated enrollment code.
pub fn uuid_code(uuid: Uuid) -> DiscountCode {
    DiscountCode::from_uuid(uuid)
}

/// A new enrollment code: fixed price `amount`, `sales`, bulk, no dates.
pub fn enrollment_code_draft(
    uuid: Uuid,
    amount: Money,
    redemption_type: RedemptionType,
) -> DiscountDraft {
    DiscountDraft {
        redemption_type,
        payment_type: Some(PaymentType::Sales),
        is_bulk: true,
        ..DiscountDraft::new(uuid_code(uuid), DiscountType::FixedPrice, amount.amount())
    }
}

/// A code linked to a contract product, with the facts the plan needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedCode {
    /// The discount.
    pub discount: DiscountId,
    /// Every product the discount is linked to (this contract's and any other).
    pub products: Vec<ProductId>,
    /// Has an order redemption or an attachment record.
    pub used: bool,
}

/// An active product of the contract's runs and the codes linked to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCodes {
    /// The product.
    pub product: ProductId,
    /// Codes linked to it.
    pub codes: Vec<LinkedCode>,
}

/// One change to the stored codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeChange {
    /// Insert the discount and link it to `product`.
    Create {
        /// The contract product to link.
        product: ProductId,
        /// The code to insert.
        draft: DiscountDraft,
    },
    /// Force the discount to fixed-price `amount`, `sales`, bulk and `redemption_type`.
    Update {
        /// The code.
        discount: DiscountId,
        /// One-time (capped) or unlimited.
        redemption_type: RedemptionType,
        /// The contract price or 0.
        amount: Decimal,
    },
    /// Remove the link between the discount and the product.
    Unlink {
        /// The code.
        discount: DiscountId,
        /// The product.
        product: ProductId,
    },
    /// Delete the discount (it has no products left).
    Delete {
        /// The orphaned code.
        discount: DiscountId,
    },
}

/// The counts `ensure_enrollment_codes_exist` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeSummary {
    /// Free auto-type contract: codes were removed.
    Removed {
        /// Product links removed.
        links_removed: u32,
        /// Codes deleted.
        deleted: u32,
    },
    /// Codes were reconciled with the seat count.
    Reconciled {
        /// Codes created.
        created: u32,
        /// Codes forced to the current type and amount.
        updated: u32,
        /// Products with too many unlimited codes, plus surplus capped codes.
        errors: u32,
    },
}

impl CodeSummary {
    /// The original's tuple: `(links removed, deleted, 0)` or `(created, updated, errors)`.
    pub fn as_tuple(self) -> (u32, u32, u32) {
        match self {
            CodeSummary::Removed {
                links_removed,
                deleted,
            } => (links_removed, deleted, 0),
            CodeSummary::Reconciled {
                created,
                updated,
                errors,
            } => (created, updated, errors),
        }
    }
}

/// The plan of `ensure_enrollment_codes_exist`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodePlan {
    /// The changes in order.
    pub changes: Vec<CodeChange>,
    /// The counts returned.
    pub summary: CodeSummary,
    /// Enqueue the contract's Google Sheet update afterwards.
    pub update_sheet: bool,
}

/// Tracks remaining links so a discount is deleted exactly when its last link goes.
struct Links(BTreeMap<DiscountId, Vec<ProductId>>);

impl Links {
    fn new(products: &[ProductCodes]) -> Self {
        let mut map = BTreeMap::new();
        for code in products.iter().flat_map(|p| &p.codes) {
            map.entry(code.discount)
                .or_insert_with(|| code.products.clone());
        }
        Links(map)
    }

    /// Unlinks and reports whether the discount is now orphaned.
    fn unlink(&mut self, discount: DiscountId, product: ProductId) -> bool {
        match self.0.get_mut(&discount) {
            Some(links) => {
                links.retain(|p| *p != product);
                links.is_empty()
            }
            None => true,
        }
    }
}

/// Plans `ensure_enrollment_codes_exist(contract)` over the contract's active products.
///
/// 1. Auto-type and free: every linked code is unlinked from the contract's products and
///    deleted when it has no products left → `Removed`.
/// 2. Otherwise per product: unlimited seats → exactly one `unlimited` code (0 → create,
///    1 → update, more → error, untouched); N seats → every code forced to one-time and
///    the current amount, N − count created, and when count > N the surplus removed among
///    unused codes, newest id first (errors += count − N). Then the sheet is updated.
pub fn plan_enrollment_codes(
    contract: &Contract,
    products: &[ProductCodes],
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> CodePlan {
    let mut changes = Vec::new();
    let mut links = Links::new(products);
    if contract.is_auto_type() && contract.is_free() {
        let (mut links_removed, mut deleted) = (0, 0);
        for p in products {
            for code in &p.codes {
                changes.push(CodeChange::Unlink {
                    discount: code.discount,
                    product: p.product,
                });
                links_removed += 1;
                // A code linked to several contract products is deleted with its last link.
                if links.unlink(code.discount, p.product) {
                    changes.push(CodeChange::Delete {
                        discount: code.discount,
                    });
                    deleted += 1;
                }
            }
        }
        return CodePlan {
            changes,
            summary: CodeSummary::Removed {
                links_removed,
                deleted,
            },
            update_sheet: false,
        };
    }

    let amount = contract.price();
    let (mut created, mut updated, mut errors) = (0, 0, 0);
    for p in products {
        match contract.seat_cap() {
            None => match p.codes.as_slice() {
                [] => {
                    changes.push(CodeChange::Create {
                        product: p.product,
                        draft: enrollment_code_draft(new_uuid(), amount, RedemptionType::Unlimited),
                    });
                    created += 1;
                }
                [only] => {
                    changes.push(CodeChange::Update {
                        discount: only.discount,
                        redemption_type: RedemptionType::Unlimited,
                        amount: amount.amount(),
                    });
                    updated += 1;
                }
                _ => errors += 1,
            },
            Some(cap) => {
                for code in &p.codes {
                    changes.push(CodeChange::Update {
                        discount: code.discount,
                        redemption_type: RedemptionType::OneTime,
                        amount: amount.amount(),
                    });
                    updated += 1;
                }
                let count = u32::try_from(p.codes.len()).unwrap_or(u32::MAX);
                for _ in count..cap {
                    changes.push(CodeChange::Create {
                        product: p.product,
                        draft: enrollment_code_draft(new_uuid(), amount, RedemptionType::OneTime),
                    });
                    created += 1;
                }
                if count > cap {
                    let surplus = count - cap;
                    let mut unused: Vec<&LinkedCode> = p.codes.iter().filter(|c| !c.used).collect();
                    unused.sort_by_key(|c| std::cmp::Reverse(c.discount));
                    for code in unused.into_iter().take(surplus as usize) {
                        changes.push(CodeChange::Unlink {
                            discount: code.discount,
                            product: p.product,
                        });
                        if links.unlink(code.discount, p.product) {
                            changes.push(CodeChange::Delete {
                                discount: code.discount,
                            });
                        }
                    }
                    errors += surplus;
                }
            }
        }
    }
    CodePlan {
        changes,
        summary: CodeSummary::Reconciled {
            created,
            updated,
            errors,
        },
        update_sheet: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::MembershipType;
    use crate::b2b::contract::tests::k42;

    fn uuids() -> impl FnMut() -> Uuid {
        let mut n = 0u128;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    fn code(id: i64, product: i64, used: bool) -> LinkedCode {
        LinkedCode {
            discount: DiscountId(id),
            products: vec![ProductId(product)],
            used,
        }
    }

    fn creates(plan: &CodePlan) -> Vec<(&ProductId, &DiscountDraft)> {
        plan.changes
            .iter()
            .filter_map(|c| match c {
                CodeChange::Create { product, draft } => Some((product, draft)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn pricing_s28_capped_code_contract_gets_n_codes_per_product() {
        let mut c = k42();
        c.membership_type = MembershipType::Code;
        c.max_learners = Some(20);
        let products: Vec<ProductCodes> = (1..=3)
            .map(|p| ProductCodes {
                product: ProductId(p),
                codes: vec![],
            })
            .collect();
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (60, 0, 0));
        let made = creates(&plan);
        assert_eq!(made.len(), 60);
        for p in 1..=3 {
            assert_eq!(made.iter().filter(|(id, _)| id.0 == p).count(), 20);
        }
        for (_, d) in &made {
            assert_eq!(d.redemption_type, RedemptionType::OneTime);
            assert_eq!(d.discount_type, DiscountType::FixedPrice);
            assert_eq!(Money::new(d.amount).to_price_string(), "0.00");
            assert_eq!(d.payment_type, Some(PaymentType::Sales));
            assert!(d.is_bulk && d.activation_date.is_none() && d.expiration_date.is_none());
        }
        let mut texts: Vec<&str> = made.iter().map(|(_, d)| d.code.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), 60, "codes are distinct");
        assert!(plan.update_sheet);
    }

    #[test]
    fn pricing_s29_uncapped_code_contract_gets_one_unlimited_code_per_product() {
        let mut c = k42();
        c.membership_type = MembershipType::Code;
        let products = [
            ProductCodes {
                product: ProductId(1),
                codes: vec![],
            },
            ProductCodes {
                product: ProductId(2),
                codes: vec![],
            },
        ];
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (2, 0, 0));
        let made = creates(&plan);
        assert_eq!(made.len(), 2);
        assert!(
            made.iter()
                .all(|(_, d)| d.redemption_type == RedemptionType::Unlimited)
        );
    }

    #[test]
    fn uncapped_existing_codes_update_or_error() {
        let mut c = k42();
        c.membership_type = MembershipType::Code;
        let products = [
            ProductCodes {
                product: ProductId(1),
                codes: vec![code(5, 1, false)],
            },
            ProductCodes {
                product: ProductId(2),
                codes: vec![code(6, 2, false), code(7, 2, true)],
            },
        ];
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (0, 1, 1));
        assert_eq!(
            plan.changes,
            vec![CodeChange::Update {
                discount: DiscountId(5),
                redemption_type: RedemptionType::Unlimited,
                amount: Decimal::ZERO,
            }]
        );
    }

    #[test]
    fn pricing_s30_free_auto_contract_unlinks_and_deletes_codes() {
        let mut c = k42();
        c.membership_type = MembershipType::Auto;
        let mut shared = code(4, 1, false);
        shared.products.push(ProductId(99)); // also linked outside the contract
        let products = [
            ProductCodes {
                product: ProductId(1),
                codes: vec![code(1, 1, false), code(2, 1, true), shared],
            },
            ProductCodes {
                product: ProductId(2),
                codes: vec![code(3, 2, false)],
            },
        ];
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (4, 3, 0));
        let deleted: Vec<i64> = plan
            .changes
            .iter()
            .filter_map(|c| match c {
                CodeChange::Delete { discount } => Some(discount.0),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, vec![1, 2, 3]);
        assert!(!plan.update_sheet);
    }

    #[test]
    fn code_linked_to_two_contract_products_is_deleted_once() {
        let mut c = k42();
        c.membership_type = MembershipType::Managed;
        let both = LinkedCode {
            discount: DiscountId(8),
            products: vec![ProductId(1), ProductId(2)],
            used: false,
        };
        let products = [
            ProductCodes {
                product: ProductId(1),
                codes: vec![both.clone()],
            },
            ProductCodes {
                product: ProductId(2),
                codes: vec![both],
            },
        ];
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (2, 1, 0));
        assert_eq!(
            plan.changes.last(),
            Some(&CodeChange::Delete {
                discount: DiscountId(8)
            })
        );
    }

    #[test]
    fn pricing_s31_price_change_updates_every_amount() {
        let mut c = k42();
        c.membership_type = MembershipType::Code;
        c.max_learners = Some(5);
        c.enrollment_fixed_price = Some(Money::from_cents(4900));
        let products = [ProductCodes {
            product: ProductId(1),
            codes: (11..=15).map(|id| code(id, 1, false)).collect(),
        }];
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (0, 5, 0));
        assert_eq!(plan.changes.len(), 5);
        for change in &plan.changes {
            let CodeChange::Update {
                amount,
                redemption_type,
                ..
            } = change
            else {
                panic!("only updates expected: {change:?}");
            };
            assert_eq!(Money::new(*amount).to_price_string(), "49.00");
            assert_eq!(*redemption_type, RedemptionType::OneTime);
        }
    }

    #[test]
    fn pricing_s32_lowered_cap_removes_newest_unused_codes() {
        let mut c = k42();
        c.membership_type = MembershipType::Code;
        c.max_learners = Some(3);
        let products = [ProductCodes {
            product: ProductId(1),
            codes: (11..=15).map(|id| code(id, 1, false)).collect(),
        }];
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (0, 5, 2));
        let removed: Vec<&CodeChange> = plan
            .changes
            .iter()
            .filter(|c| !matches!(c, CodeChange::Update { .. }))
            .collect();
        assert_eq!(
            removed,
            vec![
                &CodeChange::Unlink {
                    discount: DiscountId(15),
                    product: ProductId(1)
                },
                &CodeChange::Delete {
                    discount: DiscountId(15)
                },
                &CodeChange::Unlink {
                    discount: DiscountId(14),
                    product: ProductId(1)
                },
                &CodeChange::Delete {
                    discount: DiscountId(14)
                },
            ]
        );
    }

    #[test]
    fn used_codes_are_never_removed() {
        let mut c = k42();
        c.membership_type = MembershipType::Code;
        c.max_learners = Some(1);
        let products = [ProductCodes {
            product: ProductId(1),
            codes: vec![code(11, 1, false), code(12, 1, true), code(13, 1, true)],
        }];
        let plan = plan_enrollment_codes(&c, &products, &mut uuids());
        assert_eq!(plan.summary.as_tuple(), (0, 3, 2));
        let unlinked: Vec<i64> = plan
            .changes
            .iter()
            .filter_map(|c| match c {
                CodeChange::Unlink { discount, .. } => Some(discount.0),
                _ => None,
            })
            .collect();
        assert_eq!(unlinked, vec![11]);
    }

    proptest::proptest! {
        /// With unused codes only, a capped contract ends with exactly `cap` codes per
        /// product, every existing code is updated and the surplus is counted as errors.
        #[test]
        fn capped_plan_leaves_exactly_cap_codes(cap in 1u32..30, count in 0i64..40) {
            let mut c = k42();
            c.membership_type = MembershipType::Code;
            c.max_learners = Some(cap);
            let products = [ProductCodes {
                product: ProductId(1),
                codes: (1..=count).map(|id| code(id, 1, false)).collect(),
            }];
            let plan = plan_enrollment_codes(&c, &products, &mut uuids());
            let (created, updated, errors) = plan.summary.as_tuple();
            let deleted = plan
                .changes
                .iter()
                .filter(|c| matches!(c, CodeChange::Delete { .. }))
                .count() as i64;
            proptest::prop_assert_eq!(count + i64::from(created) - deleted, i64::from(cap));
            proptest::prop_assert_eq!(i64::from(updated), count);
            proptest::prop_assert_eq!(i64::from(errors), (count - i64::from(cap)).max(0));
        }
    }
}
