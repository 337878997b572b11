//! The greylisting probe: a deferred RCPT retried, after a wait, on a new connection with the same envelope.

use std::time::Instant;

use crate::progress::Progress;
use crate::smtp::rcpt::RcptProbe;
use crate::smtp::session::{Attempt, Verdict, envelope, open};
use crate::smtp::{HostTarget, SmtpSettings};
use mxdoctor_model::observation::{Data, GreylistData, Observation, Outcome, RcptData};
use mxdoctor_model::reply::Reply;

/// Whether a deferral's text says it is greylisting: `(?i)gr[ae]y.?list|postgrey`.
pub fn text_says_greylist(text: &str) -> bool {
    let lower = text.to_lowercase();
    let grey_then_list = |rest: &str| {
        let Some(after) = rest
            .strip_prefix("gray")
            .or_else(|| rest.strip_prefix("grey"))
        else {
            return false;
        };
        let skip_one = after
            .chars()
            .next()
            .map_or(after, |c| &after[c.len_utf8()..]);
        after.starts_with("list") || skip_one.starts_with("list")
    };
    lower.contains("postgrey")
        || lower
            .match_indices("gr")
            .any(|(start, _)| grey_then_list(&lower[start..]))
}

/// The RCPT to retry: a 4xx at RCPT, preferring the valid recipient over the invalid one.
fn deferred_rcpt(observations: &[Observation]) -> Option<(&RcptData, &Reply)> {
    [RcptProbe::ValidRecipient, RcptProbe::InvalidRecipient]
        .into_iter()
        .find_map(|kind| {
            observations
                .iter()
                .filter(|observation| observation.check == kind.check())
                .find_map(|observation| match &observation.data {
                    Data::Rcpt(rcpt) if rcpt.stage == "rcpt" => rcpt
                        .reply
                        .as_ref()
                        .filter(|reply| reply.is_transient())
                        .map(|reply| (rcpt, reply)),
                    _ => None,
                })
        })
}

/// A greylisting observation for a probe that did not run.
pub(crate) fn skipped(target: &HostTarget, detail: &str) -> Observation {
    Observation::new(
        "greylist",
        target.subject(),
        Outcome::Skipped,
        std::time::Duration::ZERO,
        detail,
        Data::Greylist(GreylistData {
            host: target.host.clone(),
            ..GreylistData::default()
        }),
    )
}

/// Runs the greylisting probe given the RCPT observations of the same host.
pub(crate) async fn probe(
    target: &HostTarget,
    settings: &SmtpSettings,
    rcpt_observations: &[Observation],
    progress: &dyn Progress,
) -> Observation {
    let started = Instant::now();
    let Some((first_rcpt, first)) = deferred_rcpt(rcpt_observations) else {
        return skipped(
            target,
            "no RCPT was deferred (4xx), so there is no deferral to retry",
        );
    };
    let mut data = GreylistData {
        host: target.host.clone(),
        first: Some(first.clone()),
        retry: None,
        waited_secs: 0,
        retry_passed: None,
        text_says_greylist: text_says_greylist(&first.text),
    };
    if settings.greylist_wait.is_zero() {
        let detail = format!(
            "RCPT TO:<{}> deferred: {first}; not retried (greylist wait is 0){}",
            first_rcpt.rcpt_to,
            if data.text_says_greylist {
                "; the text says greylisting"
            } else {
                ""
            }
        );
        return Observation::new(
            "greylist",
            target.subject(),
            Outcome::Inconclusive,
            started.elapsed(),
            detail,
            Data::Greylist(data),
        );
    }

    progress.waiting(
        &format!("{}: greylisting retry", target.subject()),
        settings.greylist_wait,
    );
    tokio::time::sleep(settings.greylist_wait).await;
    data.waited_secs = settings.greylist_wait.as_secs_f64().round() as u64;

    let (_, opened) = open(target, settings).await;
    let retry = match opened {
        Ok(mut session) => {
            let attempt = envelope(&mut session, &first_rcpt.mail_from, &first_rcpt.rcpt_to).await;
            if !attempt.lost_connection() {
                let _ = session.command("RSET").await;
                session.quit().await;
            }
            attempt
        }
        Err(problem) => Attempt::from_problem(problem),
    };
    data.retry.clone_from(&retry.reply);
    let (outcome, reading) = match (retry.error_outcome(), retry.verdict, retry.stage) {
        (Some(outcome), _, _) => (outcome, "the retry did not complete"),
        (None, Verdict::Accepted, _) => (Outcome::Ok, "the retry was accepted"),
        (None, Verdict::Deferred, _) => (
            Outcome::Fail,
            "still deferred after the wait: not (only) greylisting",
        ),
        (None, _, _) => (
            Outcome::Inconclusive,
            "the retry was answered with neither acceptance nor deferral",
        ),
    };
    if retry.error.is_none() {
        data.retry_passed = Some(retry.verdict == Verdict::Accepted && retry.stage == "rcpt");
    }
    let detail = format!(
        "RCPT TO:<{}> first deferred: {first}; retry after {}s: {}; {reading}",
        first_rcpt.rcpt_to,
        data.waited_secs,
        retry.describe()
    );
    Observation::new(
        "greylist",
        target.subject(),
        outcome,
        started.elapsed(),
        detail,
        Data::Greylist(data),
    )
}

#[cfg(test)]
mod tests {
    use super::text_says_greylist;

    #[test]
    fn greylist_wording() {
        assert!(text_says_greylist(
            "<a@b>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/b.html"
        ));
        assert!(text_says_greylist("Grey-listed, try again later"));
        assert!(text_says_greylist("greylisting in action"));
        assert!(!text_says_greylist(
            "<a@b>: Recipient address rejected: unverified address: connect to backend: Connection refused"
        ));
    }
}
