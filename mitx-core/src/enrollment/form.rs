//! The form enrollment `POST /enrollments/` (courses spec 2.6): the checks before the core
//! routine, and the redirect and user message after it.

use serde::{Deserialize, Serialize};

use super::types::RunEnrollment;
use crate::catalog::EnrollmentMode;

/// The message put in the `user-message` cookie (URL-encoded JSON, max-age 20 s).
/// Serializes as `{"type":"enroll-blocked"}`, `{"type":"enrolled","run":"<course title>"}`...
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum UserMessage {
    /// The learner's legal-address country is blocked for the course.
    EnrollBlocked,
    /// The learner already paid for the run or holds a verified enrollment in it.
    EnrollDuplicated,
    /// The enrollment succeeded; `run` is the **course** title.
    Enrolled { run: String },
    /// The enrollment failed in edX.
    EnrollFailed,
}

impl UserMessage {
    /// The `type` value.
    pub fn kind(&self) -> &'static str {
        match self {
            UserMessage::EnrollBlocked => "enroll-blocked",
            UserMessage::EnrollDuplicated => "enroll-duplicated",
            UserMessage::Enrolled { .. } => "enrolled",
            UserMessage::EnrollFailed => "enroll-failed",
        }
    }
}

/// Where the form enrollment redirects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormRedirect {
    /// Back to the `Referer`.
    Referer,
    /// To `/dashboard/`.
    Dashboard,
}

/// The response of the form enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormEnrollResponse {
    pub redirect: FormRedirect,
    pub message: Option<UserMessage>,
    /// Ensure a pending order for the run's product (unless a fulfilled order for that
    /// product version exists).
    pub ensure_pending_order: bool,
    /// With the `isapi` field the answer is 200 with this text instead of a redirect.
    pub api_text: &'static str,
}

/// What the checks before the core routine decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum FormPrecheck {
    /// Stop with this response.
    Respond(FormEnrollResponse),
    /// Create the edX user if missing, then run the core routine in audit mode and answer
    /// with [`form_enrollment_result`].
    Proceed,
}

/// The checks of the form enrollment, in order: unknown run, blocked country, duplicate
/// (already paid, or a verified enrollment whose change status is null).
pub fn precheck_form_enrollment(
    run_found: bool,
    country_blocked: bool,
    already_paid: bool,
    existing: Option<&RunEnrollment>,
) -> FormPrecheck {
    let respond = |redirect, message| {
        FormPrecheck::Respond(FormEnrollResponse {
            redirect,
            message,
            ensure_pending_order: false,
            api_text: "Fail",
        })
    };
    if !run_found {
        return respond(FormRedirect::Referer, None);
    }
    if country_blocked {
        return respond(FormRedirect::Referer, Some(UserMessage::EnrollBlocked));
    }
    let verified =
        existing.is_some_and(|e| e.mode == EnrollmentMode::Verified && e.change_status.is_none());
    if already_paid || verified {
        return respond(FormRedirect::Dashboard, Some(UserMessage::EnrollDuplicated));
    }
    FormPrecheck::Proceed
}

/// The response when the run fails the checks of the enrollment API (2.2), which the form
/// applies too: an invalid (B2B) run is answered like an unknown one (back, no message); a
/// run not open for enrollment goes back with `enroll-failed`.
pub fn form_refusal(refusal: &super::enroll::EnrollRequestError) -> FormEnrollResponse {
    let message = match refusal {
        super::enroll::EnrollRequestError::InvalidRun(_) => None,
        super::enroll::EnrollRequestError::NotOpen(_) => Some(UserMessage::EnrollFailed),
    };
    FormEnrollResponse {
        redirect: FormRedirect::Referer,
        message,
        ensure_pending_order: false,
        api_text: "Fail",
    }
}

/// The response after the core routine: success (or `IGNORE_EDX_FAILURES`) goes to the
/// dashboard with an `enrolled` message and, when the run has a product, a pending order
/// unless one for the product version is already fulfilled; failure goes back with
/// `enroll-failed`.
pub fn form_enrollment_result(
    edx_succeeded: bool,
    ignore_edx_failures: bool,
    course_title: &str,
    run_has_product: bool,
    fulfilled_order_exists: bool,
) -> FormEnrollResponse {
    if edx_succeeded || ignore_edx_failures {
        FormEnrollResponse {
            redirect: FormRedirect::Dashboard,
            message: Some(UserMessage::Enrolled {
                run: course_title.to_owned(),
            }),
            ensure_pending_order: run_has_product && !fulfilled_order_exists,
            api_text: "Ok",
        }
    } else {
        FormEnrollResponse {
            redirect: FormRedirect::Referer,
            message: Some(UserMessage::EnrollFailed),
            ensure_pending_order: false,
            api_text: "Fail",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::fixtures::{enrollment, r1};
    use crate::enrollment::types::ChangeStatus;

    #[test]
    fn refusals_of_the_api_checks_go_back() {
        use crate::enrollment::enroll::EnrollRequestError;
        use crate::ids::CourseRunId;
        let invalid = form_refusal(&EnrollRequestError::InvalidRun(CourseRunId(7)));
        assert_eq!(invalid.redirect, FormRedirect::Referer);
        assert_eq!(invalid.message, None);
        assert_eq!(invalid.api_text, "Fail");
        let closed = form_refusal(&EnrollRequestError::NotOpen(CourseRunId(7)));
        assert_eq!(closed.message, Some(UserMessage::EnrollFailed));
        assert!(!closed.ensure_pending_order);
    }

    fn message(precheck: &FormPrecheck) -> Option<&'static str> {
        match precheck {
            FormPrecheck::Respond(r) => r.message.as_ref().map(UserMessage::kind),
            FormPrecheck::Proceed => None,
        }
    }

    #[test]
    fn prechecks_in_order() {
        let verified = enrollment(&r1(), EnrollmentMode::Verified);
        let unknown = precheck_form_enrollment(false, true, true, Some(&verified));
        assert_eq!(
            unknown,
            FormPrecheck::Respond(FormEnrollResponse {
                redirect: FormRedirect::Referer,
                message: None,
                ensure_pending_order: false,
                api_text: "Fail",
            })
        );
        let blocked = precheck_form_enrollment(true, true, true, Some(&verified));
        assert_eq!(message(&blocked), Some("enroll-blocked"));
        let paid = precheck_form_enrollment(true, false, true, None);
        assert_eq!(message(&paid), Some("enroll-duplicated"));
        let dup = precheck_form_enrollment(true, false, false, Some(&verified));
        assert_eq!(message(&dup), Some("enroll-duplicated"));
        let FormPrecheck::Respond(r) = dup else {
            panic!("expected a response")
        };
        assert_eq!(r.redirect, FormRedirect::Dashboard);

        let mut deferred = verified.clone();
        deferred.change_status = Some(ChangeStatus::Deferred);
        assert_eq!(
            precheck_form_enrollment(true, false, false, Some(&deferred)),
            FormPrecheck::Proceed
        );
        let audit = enrollment(&r1(), EnrollmentMode::Audit);
        assert_eq!(
            precheck_form_enrollment(true, false, false, Some(&audit)),
            FormPrecheck::Proceed
        );
    }

    #[test]
    fn result_after_the_core_routine() {
        let ok = form_enrollment_result(true, false, "Intro to CS", true, false);
        assert_eq!(ok.redirect, FormRedirect::Dashboard);
        assert_eq!(
            ok.message,
            Some(UserMessage::Enrolled {
                run: "Intro to CS".into()
            })
        );
        assert!(ok.ensure_pending_order);
        assert_eq!(ok.api_text, "Ok");

        let already_bought = form_enrollment_result(true, false, "Intro", true, true);
        assert!(!already_bought.ensure_pending_order);
        let ignored = form_enrollment_result(false, true, "Intro", false, false);
        assert_eq!(ignored.api_text, "Ok");
        assert!(!ignored.ensure_pending_order);

        let failed = form_enrollment_result(false, false, "Intro", true, false);
        assert_eq!(failed.redirect, FormRedirect::Referer);
        assert_eq!(
            failed.message.as_ref().map(UserMessage::kind),
            Some("enroll-failed")
        );
        assert_eq!(failed.api_text, "Fail");
    }
}
