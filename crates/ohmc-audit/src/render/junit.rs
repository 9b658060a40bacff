//! JUnit XML (quick-junit): one test suite per target, one test case per check and
//! resource. Fail is a failure, error an error, skipped and waived are skipped (the
//! waiver in the message).

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::model::{AuditReport, Status};

pub fn junit(report: &AuditReport) -> Result<String, quick_junit::SerializeError> {
    let mut r = Report::new("ohmc-infra audit");
    r.set_timestamp(report.started_at);
    r.set_time(std::time::Duration::from_millis(report.duration_ms));
    let mut suites: Vec<(String, TestSuite)> = Vec::new();
    let suite_for = |suites: &mut Vec<(String, TestSuite)>, name: String| -> usize {
        if let Some(i) = suites.iter().position(|(n, _)| *n == name) {
            return i;
        }
        suites.push((name.clone(), TestSuite::new(name)));
        suites.len() - 1
    };
    for t in &report.targets {
        suite_for(
            &mut suites,
            format!("{} {} {}", t.environment, t.account_id, t.region),
        );
    }
    for f in &report.findings {
        let name = if f.region.is_empty() {
            format!("{} {}", f.environment, f.account_id)
        } else {
            format!("{} {} {}", f.environment, f.account_id, f.region)
        };
        let i = suite_for(&mut suites, name);
        let status = match f.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(
                    f.message
                        .clone()
                        .unwrap_or_else(|| format!("observed {}", f.evidence.observed)),
                );
                s.set_type("fail");
                s.set_description(format!(
                    "expected: {}\nobserved: {}\nremediation: {}",
                    f.evidence.expected, f.evidence.observed, f.remediation
                ));
                s
            }
            Status::Error => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(f.message.clone().unwrap_or_default());
                s.set_type("error");
                s
            }
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(f.message.clone().unwrap_or_default());
                s
            }
            Status::Waived => {
                let mut s = TestCaseStatus::skipped();
                if let Some(w) = &f.waiver {
                    s.set_message(format!(
                        "waived until {} by {}: {}",
                        w.expires, w.owner, w.reason
                    ));
                }
                s.set_type("waived");
                s
            }
        };
        let mut case = TestCase::new(format!("{} {}", f.check_id, f.resource_label()), status);
        case.set_classname(f.check_id.clone());
        for c in &f.controls {
            case.add_property(quick_junit::Property::new(
                format!("control.{}", c.framework),
                c.display(),
            ));
        }
        suites[i].1.add_test_case(case);
    }
    for e in &report.errors {
        let i = suite_for(
            &mut suites,
            format!("{} {} {}", e.environment, e.account_id, e.region),
        );
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_message(e.message.clone());
        s.set_type("target-error");
        let mut case = TestCase::new("audit target", s);
        case.set_classname("audit");
        suites[i].1.add_test_case(case);
    }
    r.add_test_suites(suites.into_iter().map(|(_, s)| s));
    r.to_string()
}
