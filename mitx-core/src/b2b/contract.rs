//! B2B contracts and their derived rules (pricing-and-b2b spec 5.2).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalog::slugify;
use crate::ids::{ContractId, OrganizationId};
use crate::money::Money;

/// How learners join a contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MembershipType {
    /// Membership comes from the organization (SSO or admin); the default.
    #[default]
    Managed,
    /// Learners join with an enrollment code.
    Code,
    /// Every member of the organization is attached automatically.
    Auto,
}

impl MembershipType {
    /// The stored text (`managed`, `code`, `auto`).
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipType::Managed => "managed",
            MembershipType::Code => "code",
            MembershipType::Auto => "auto",
        }
    }

    /// Parses the stored text, including the legacy `integration_type` values
    /// (`sso` → managed, `non-sso` → code) that were migrated.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "managed" | "sso" => Some(MembershipType::Managed),
            "code" | "non-sso" => Some(MembershipType::Code),
            "auto" => Some(MembershipType::Auto),
            _ => None,
        }
    }

    /// "Auto-type": members of the organization are attached without a code.
    pub fn is_auto_type(self) -> bool {
        matches!(self, MembershipType::Auto | MembershipType::Managed)
    }
}

/// A B2B contract: an agreement with an organization that grants access to course runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// Storage id.
    pub id: ContractId,
    /// The owning organization.
    pub organization: OrganizationId,
    /// The title (≤255).
    pub name: String,
    /// Slugified title, unique among the organization's contracts.
    pub slug: String,
    /// How learners join.
    pub membership_type: MembershipType,
    /// First day of the contract (inclusive).
    pub contract_start: Option<NaiveDate>,
    /// Last day of the contract (inclusive).
    pub contract_end: Option<NaiveDate>,
    /// The active flag.
    pub active: bool,
    /// `None` or 0 = unlimited seats.
    pub max_learners: Option<u32>,
    /// `None` or 0 = free.
    pub enrollment_fixed_price: Option<Money>,
    /// Free text shown to learners.
    pub description: String,
    /// ≤255 characters.
    pub welcome_message: String,
    /// Rich-text welcome message.
    pub welcome_message_extra: String,
    /// Google Sheet URL (≤1024), "" when unset.
    pub google_sheet_target: String,
    /// Defaults to `Sheet1`.
    pub google_sheet_target_tab: String,
}

impl Contract {
    /// A new contract with the documented defaults: managed, active, unlimited, free,
    /// slug from the title, sheet tab `Sheet1`.
    pub fn new(id: ContractId, organization: OrganizationId, name: &str) -> Self {
        Contract {
            id,
            organization,
            name: name.to_owned(),
            slug: slugify(name),
            membership_type: MembershipType::Managed,
            contract_start: None,
            contract_end: None,
            active: true,
            max_learners: None,
            enrollment_fixed_price: None,
            description: String::new(),
            welcome_message: String::new(),
            welcome_message_extra: String::new(),
            google_sheet_target: String::new(),
            google_sheet_target_tab: "Sheet1".to_owned(),
        }
    }

    /// The inactive managed contract (cap 0) of the `RETIRED` organization that parks
    /// retired runs.
    pub fn retired_holding(id: ContractId, organization: OrganizationId) -> Self {
        let mut c = Contract::new(id, organization, super::RETIRED_CONTRACT_NAME);
        c.active = false;
        c.max_learners = Some(0);
        c
    }

    /// Members of the organization are attached without a code (auto or managed).
    pub fn is_auto_type(&self) -> bool {
        self.membership_type.is_auto_type()
    }

    /// "Active for use" (`active_objects`): the active flag is set and `today` is within
    /// the contract dates, both ends inclusive, open ends allowed.
    pub fn is_active_on(&self, today: NaiveDate) -> bool {
        self.active
            && self.contract_start.is_none_or(|s| s <= today)
            && self.contract_end.is_none_or(|e| e >= today)
    }

    /// The seat cap, or `None` when seats are unlimited (`None` or 0).
    pub fn seat_cap(&self) -> Option<u32> {
        self.max_learners.filter(|n| *n > 0)
    }

    /// No more learners may attach: a cap is set and reached.
    pub fn is_full(&self, attached_learners: u32) -> bool {
        self.seat_cap().is_some_and(|cap| attached_learners >= cap)
    }

    /// More learners are attached than the cap allows (e.g. after lowering it).
    pub fn is_over_full(&self, attached_learners: u32) -> bool {
        self.seat_cap().is_some_and(|cap| attached_learners > cap)
    }

    /// The price of a seat: the fixed price, or 0.00 when unset.
    pub fn price(&self) -> Money {
        self.enrollment_fixed_price.unwrap_or(Money::ZERO)
    }

    /// Seats cost nothing (price unset or 0).
    pub fn is_free(&self) -> bool {
        self.price().is_zero()
    }

    /// Learners need an enrollment code: the contract has a price or is code-type.
    pub fn requires_codes(&self) -> bool {
        !self.is_free() || self.membership_type == MembershipType::Code
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Contract 42 of org ACME (id 1): 2025-03-01..2025-12-31, no price, managed.
    pub fn k42() -> Contract {
        let mut c = Contract::new(ContractId(42), OrganizationId(1), "ACME Learning");
        c.contract_start = Some(date(2025, 3, 1));
        c.contract_end = Some(date(2025, 12, 31));
        c
    }

    #[test]
    fn membership_types_and_legacy_values() {
        for (text, t, auto) in [
            ("managed", MembershipType::Managed, true),
            ("sso", MembershipType::Managed, true),
            ("code", MembershipType::Code, false),
            ("non-sso", MembershipType::Code, false),
            ("auto", MembershipType::Auto, true),
        ] {
            assert_eq!(MembershipType::parse(text), Some(t), "{text}");
            assert_eq!(t.is_auto_type(), auto, "{text}");
        }
        assert_eq!(MembershipType::parse("other"), None);
        assert_eq!(MembershipType::Code.as_str(), "code");
    }

    #[test]
    fn active_for_use_is_inclusive_of_both_dates() {
        let c = k42();
        let cases = [
            (date(2025, 2, 28), false),
            (date(2025, 3, 1), true),
            (date(2025, 12, 31), true),
            (date(2026, 1, 1), false),
        ];
        for (today, expected) in cases {
            assert_eq!(c.is_active_on(today), expected, "{today}");
        }
        let mut inactive = k42();
        inactive.active = false;
        assert!(!inactive.is_active_on(date(2025, 6, 1)));
        let mut open = k42();
        open.contract_start = None;
        open.contract_end = None;
        assert!(open.is_active_on(date(1999, 1, 1)));
    }

    #[test]
    fn seats_full_and_over_full() {
        let mut c = k42();
        assert!(!c.is_full(1_000_000));
        c.max_learners = Some(0);
        assert!(!c.is_full(5), "0 means unlimited");
        c.max_learners = Some(2);
        assert!(!c.is_full(1));
        assert!(c.is_full(2));
        assert!(!c.is_over_full(2));
        assert!(c.is_over_full(3));
    }

    #[test]
    fn price_free_and_requires_codes() {
        let mut c = k42();
        assert!(c.is_free() && !c.requires_codes());
        c.enrollment_fixed_price = Some(Money::ZERO);
        assert!(c.is_free());
        c.membership_type = MembershipType::Code;
        assert!(c.requires_codes());
        c.membership_type = MembershipType::Auto;
        c.enrollment_fixed_price = Some(Money::from_cents(10_000));
        assert!(!c.is_free() && c.requires_codes());
        assert_eq!(c.price().to_price_string(), "100.00");
    }

    #[test]
    fn retired_holding_contract() {
        let c = Contract::retired_holding(ContractId(1), OrganizationId(9));
        assert_eq!(c.name, "Retired Runs Holding Contract");
        assert!(!c.active && c.membership_type == MembershipType::Managed);
        assert_eq!(c.max_learners, Some(0));
        assert_eq!(c.slug, "retired-runs-holding-contract");
    }
}
