//! The `grants` of `GET /api/v0/users/me` (integrations spec 4.5): the permission strings
//! (`app_label.codename`) the user holds.
//!
//! The original lists every model permission of the user: superusers hold all of them, other
//! users those of their groups and individual grants, inactive users none. mitx does not
//! model groups or per-user permissions, so grants are derived from the flags it has:
//! an active superuser holds [`SUPERUSER_GRANTS`] (the permissions of the staff operations
//! mitx implements), anyone else none (a staff account without groups holds no model
//! permission in the original either).

/// The permissions of an active superuser, sorted: view/change of the records behind the
/// operator workflows mitx implements (catalog, B2B, discounts, orders, flexible pricing,
/// users).
pub const SUPERUSER_GRANTS: &[&str] = &[
    "b2b.add_contractpage",
    "b2b.change_contractpage",
    "b2b.change_organizationpage",
    "b2b.view_contractpage",
    "b2b.view_organizationpage",
    "courses.add_courserun",
    "courses.change_course",
    "courses.change_courserun",
    "courses.change_courserunenrollment",
    "courses.change_program",
    "courses.view_course",
    "courses.view_courserun",
    "courses.view_courserunenrollment",
    "courses.view_program",
    "ecommerce.add_discount",
    "ecommerce.change_discount",
    "ecommerce.change_order",
    "ecommerce.view_discount",
    "ecommerce.view_order",
    "flexiblepricing.change_flexibleprice",
    "flexiblepricing.view_flexibleprice",
    "users.change_user",
    "users.view_user",
];

/// The grants of a signed-in user (anonymous users get `[]`, the API layer's branch).
pub fn grants(is_active: bool, is_superuser: bool) -> Vec<&'static str> {
    if is_active && is_superuser {
        SUPERUSER_GRANTS.to_vec()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_follow_the_flags() {
        // (is_active, is_superuser, expected count)
        let table: &[(bool, bool, usize)] = &[
            (true, true, SUPERUSER_GRANTS.len()),
            (false, true, 0),
            (true, false, 0),
            (false, false, 0),
        ];
        for (active, superuser, count) in table {
            assert_eq!(
                grants(*active, *superuser).len(),
                *count,
                "{active} {superuser}"
            );
        }
    }

    #[test]
    fn superuser_grants_are_sorted_permission_strings() {
        let mut sorted = SUPERUSER_GRANTS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, SUPERUSER_GRANTS);
        for grant in SUPERUSER_GRANTS {
            let (app, codename) = grant.split_once('.').expect("app_label.codename");
            assert!(!app.is_empty(), "{grant}");
            assert!(
                ["add_", "change_", "view_", "delete_"]
                    .iter()
                    .any(|p| codename.starts_with(p)),
                "{grant}"
            );
        }
    }
}
