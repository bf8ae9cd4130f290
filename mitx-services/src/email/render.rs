//! Rendering an [`EmailJob`] into a message: subject, HTML from the template, text from
//! the HTML, and the sender of the site (or of MIT Learn for UAI courses).

use minijinja::Environment;
use serde_json::{Value, json};

use super::{EmailError, EmailJob, Template, html_to_text};
use crate::config::{EmailSettings, SiteSettings};

/// A message ready for the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    /// From.
    pub from: String,
    /// Reply-To, if any.
    pub reply_to: Option<String>,
    /// To (after the recipient override).
    pub to: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Text body.
    pub text: String,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/email/base.html")),
    (
        "enrollment.html",
        include_str!("../../templates/email/enrollment.html"),
    ),
    (
        "unenrollment.html",
        include_str!("../../templates/email/unenrollment.html"),
    ),
    (
        "enrollment_failure.html",
        include_str!("../../templates/email/enrollment_failure.html"),
    ),
    (
        "record_share.html",
        include_str!("../../templates/email/record_share.html"),
    ),
    (
        "order_receipt.html",
        include_str!("../../templates/email/order_receipt.html"),
    ),
    (
        "order_refund.html",
        include_str!("../../templates/email/order_refund.html"),
    ),
    (
        "refund_request.html",
        include_str!("../../templates/email/refund_request.html"),
    ),
];

fn text_of<'a>(context: &'a Value, key: &str) -> &'a str {
    context.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The subject line (integrations spec 5).
pub fn subject(template: Template, context: &Value, site_name: &str) -> String {
    let uai = context.get("uai").and_then(Value::as_bool).unwrap_or(false);
    let number = text_of(context, "course_number");
    let title = text_of(context, "course_title");
    let course = if uai || number.is_empty() {
        title.to_owned()
    } else {
        format!("{number} {title}")
    };
    match template {
        Template::Enrollment => format!("You have been enrolled in {course}."),
        Template::Unenrollment => format!("You have been unenrolled from {course}."),
        Template::EnrollmentFailure => format!("{site_name} Enrollment Error"),
        Template::RecordShare => format!(
            "Shared Learner Record for {}",
            text_of(context, "learner_name")
        ),
        Template::OrderReceipt => "Your receipt from MIT Learn".to_owned(),
        Template::OrderRefund => format!(
            "Refund of MITxOnline Order {}",
            text_of(context, "reference_number")
        ),
        Template::RefundRequest => format!(
            "Refund Request Submitted \u{2013} Order {}",
            text_of(context, "reference_number")
        ),
    }
}

/// The templates, parsed once per process.
fn environment() -> Result<&'static Environment<'static>, EmailError> {
    static ENV: std::sync::OnceLock<Result<Environment<'static>, (&'static str, String)>> =
        std::sync::OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| (*name, e.to_string()))?;
        }
        Ok(env)
    });
    env.as_ref()
        .map_err(|(template, message)| EmailError::Template {
            template,
            message: message.clone(),
        })
}

/// Renders a queued email.
pub fn render(
    job: &EmailJob,
    email: &EmailSettings,
    site: &SiteSettings,
) -> Result<RenderedEmail, EmailError> {
    let env = environment()?;
    let uai = job
        .context
        .get("uai")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let dashboard_url = if uai {
        email.learn_dashboard_url.clone()
    } else {
        format!("{}/dashboard/", site.base_url)
    };
    let subject = subject(job.template, &job.context, &site.name);
    let mut context = job.context.clone();
    if let Value::Object(map) = &mut context {
        map.insert("site_name".into(), json!(site.name));
        map.insert("site_url".into(), json!(format!("{}/", site.base_url)));
        map.insert("dashboard_url".into(), json!(dashboard_url));
        map.insert("subject".into(), json!(subject));
    }
    let name = job.template.file();
    let html = env
        .get_template(name)
        .and_then(|t| t.render(&context))
        .map_err(|e| EmailError::Template {
            template: name,
            message: e.to_string(),
        })?;
    let (from, reply_to) = if uai {
        (email.learn_from.clone(), email.learn_reply_to.clone())
    } else {
        (email.from.clone(), email.reply_to.clone())
    };
    Ok(RenderedEmail {
        from,
        reply_to,
        to: email
            .recipient_override
            .clone()
            .unwrap_or_else(|| job.to.clone()),
        subject,
        text: html_to_text(&html),
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn settings() -> Settings {
        Settings::from_lookup(&|_| None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn enrollment(uai: bool) -> EmailJob {
        EmailJob {
            template: Template::Enrollment,
            to: "jane@example.com".into(),
            context: json!({
                "user_name": "Jane <Doe>",
                "course_number": "6.001x",
                "course_title": "Intro & Programming",
                "run_title": "Spring 2026",
                "start_date": "February 1, 2026",
                "end_date": "June 1, 2026",
                "uai": uai,
            }),
        }
    }

    #[test]
    fn enrollment_email_subject_body_and_text() {
        let s = settings();
        let email = render(&enrollment(false), &s.email, &s.site).unwrap();
        assert_eq!(
            email.subject,
            "You have been enrolled in 6.001x Intro & Programming."
        );
        assert!(email.html.contains("Jane &lt;Doe&gt;"), "{}", email.html);
        assert!(email.html.contains("Intro &amp; Programming"));
        assert!(
            email
                .text
                .contains("dashboard (http://localhost:8000/dashboard/)"),
            "{}",
            email.text
        );
        assert!(email.text.contains("Dear Jane <Doe>,"), "{}", email.text);
        assert_eq!(email.to, "jane@example.com");
        assert_eq!(email.from, s.email.from);
    }

    #[test]
    fn uai_courses_use_the_title_and_mit_learn() {
        let s = settings();
        let email = render(&enrollment(true), &s.email, &s.site).unwrap();
        assert_eq!(
            email.subject,
            "You have been enrolled in Intro & Programming."
        );
        assert_eq!(email.from, s.email.learn_from);
        assert!(email.text.contains(&s.email.learn_dashboard_url));
    }

    #[test]
    fn every_template_renders_and_the_override_redirects() {
        let mut s = settings();
        s.email.recipient_override = Some("dev@example.com".into());
        for template in [
            Template::Enrollment,
            Template::Unenrollment,
            Template::EnrollmentFailure,
            Template::RecordShare,
            Template::OrderReceipt,
            Template::OrderRefund,
            Template::RefundRequest,
        ] {
            let job = EmailJob {
                template,
                ..enrollment(false)
            };
            let email = render(&job, &s.email, &s.site).unwrap();
            assert_eq!(email.to, "dev@example.com");
            assert!(!email.text.trim().is_empty());
        }
        let failure = EmailJob {
            template: Template::EnrollmentFailure,
            ..enrollment(false)
        };
        assert_eq!(
            render(&failure, &s.email, &s.site).unwrap().subject,
            "MITx Online Enrollment Error"
        );
    }
}
