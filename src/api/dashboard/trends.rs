//! The overview's pictures: requests received and settled per day and the open task backlog per
//! connector instance over the last 30 days, and the deadline burn-down of unsettled requests.
//! Reads in `store::charts`; drawing in `chart`.

use super::chart::{self, Chart, Series, PALETTE};
use super::html;
use crate::store::charts::{Backlog, DayFlow, DeadlineBuckets};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::fmt::Write;

/// Days shown, today included.
pub const DAYS: i32 = 30;
/// Label every n-th day under the x axis.
const LABEL_EVERY: usize = 5;

/// What the three pictures show.
#[derive(Debug, Clone)]
pub struct Trends {
    /// The first UTC day of the past window, and the first of the deadline window (today).
    pub past_from: DateTime<Utc>,
    pub today: DateTime<Utc>,
    pub flow: Vec<DayFlow>,
    pub backlog: Vec<Backlog>,
    pub deadlines: DeadlineBuckets,
}

impl Trends {
    pub async fn load(store: &Store, now: DateTime<Utc>) -> Result<Trends, StoreError> {
        let today = now.duration_trunc(Duration::days(1)).unwrap_or(now);
        let past_from = today - Duration::days(i64::from(DAYS - 1));
        Ok(Trends {
            past_from,
            today,
            flow: store.daily_flow(past_from, DAYS).await?,
            backlog: store.open_backlog(past_from, DAYS).await?,
            deadlines: store.deadline_buckets(now, today, DAYS).await?,
        })
    }

    /// The section: three figures, each with its caption.
    pub fn html(&self) -> String {
        let mut out = String::from("<h2 id=\"trends\">Last 30 days and the next 30</h2><div class=\"charts\">");
        let past = day_labels(self.past_from, DAYS);
        let flow = [
            Series {
                name: "received".into(),
                colour: PALETTE[0],
                values: self.flow.iter().map(|d| d.received).collect(),
            },
            Series {
                name: "settled".into(),
                colour: PALETTE[2],
                values: self.flow.iter().map(|d| d.settled).collect(),
            },
        ];
        let received: i64 = flow[0].values.iter().sum();
        let settled: i64 = flow[1].values.iter().sum();
        figure(
            &mut out,
            "Requests per day",
            &chart::bars(
                &Chart { title: "Requests received and settled per day", x_labels: &past, label_every: LABEL_EVERY },
                &flow,
            ),
            &format!("Requests received ({received}) and settled ({settled}) per day (UTC), last 30 days."),
        );

        let (shown, hidden) = backlog_series(&self.backlog);
        let mut caption = String::from("Open tasks per connector instance at the end of each day, last 30 days.");
        if hidden > 0 {
            let _ =
                write!(caption, " The {} largest backlogs today; {hidden} more instance(s) not drawn.", shown.len());
        }
        if shown.is_empty() {
            caption.push_str(" No task was open in that time.");
        }
        figure(
            &mut out,
            "Open tasks per connector instance",
            &chart::lines(
                &Chart { title: "Open tasks per connector instance", x_labels: &past, label_every: LABEL_EVERY },
                &shown,
            ),
            &caption,
        );

        let next = day_labels(self.today, DAYS);
        let burn = burn_down(&self.deadlines);
        figure(
            &mut out,
            "Deadline burn-down",
            &chart::lines(
                &Chart { title: "Deadline burn-down", x_labels: &next, label_every: LABEL_EVERY },
                &[
                    Series { name: "still within their deadline".into(), colour: PALETTE[0], values: burn.on_time },
                    Series { name: "overdue unless settled".into(), colour: PALETTE[5], values: burn.overdue },
                ],
            ),
            &format!(
                "Unsettled requests (open or failed) at the end of each of the next 30 days if none settles: {} overdue \
                 now, {} due within 30 days, {} later.",
                self.deadlines.overdue,
                self.deadlines.by_day.iter().sum::<i64>(),
                self.deadlines.later
            ),
        );
        out.push_str("</div>");
        out
    }
}

/// A picture with its title above and what it shows, in words and totals, below.
fn figure(out: &mut String, title: &str, svg: &str, caption: &str) {
    let _ = write!(
        out,
        "<figure><h3>{}</h3>{svg}<figcaption>{}</figcaption></figure>",
        html::escape(title),
        html::escape(caption)
    );
}

/// `MM-DD` of each of `days` days from `from`.
fn day_labels(from: DateTime<Utc>, days: i32) -> Vec<String> {
    (0..days).map(|i| (from + Duration::days(i64::from(i))).format("%m-%d").to_string()).collect()
}

/// The series of the largest backlogs today (as many as the palette has colours), and how many
/// instances were left out.
fn backlog_series(backlog: &[Backlog]) -> (Vec<Series>, usize) {
    let mut sorted: Vec<&Backlog> = backlog.iter().filter(|b| b.open.iter().any(|n| *n > 0)).collect();
    sorted.sort_by(|a, b| b.open.last().cmp(&a.open.last()).then(a.connector.cmp(&b.connector)));
    let hidden = sorted.len().saturating_sub(PALETTE.len());
    let shown = sorted
        .into_iter()
        .take(PALETTE.len())
        .enumerate()
        .map(|(i, b)| Series { name: b.connector.clone(), colour: PALETTE[i], values: b.open.clone() })
        .collect();
    (shown, hidden)
}

/// At the end of each day: how many unsettled requests are still within their deadline, and how
/// many are past it, if none settles meanwhile.
#[derive(Debug, PartialEq, Eq)]
struct BurnDown {
    on_time: Vec<i64>,
    overdue: Vec<i64>,
}

fn burn_down(d: &DeadlineBuckets) -> BurnDown {
    let total = d.overdue + d.by_day.iter().sum::<i64>() + d.later;
    let mut overdue = Vec::with_capacity(d.by_day.len());
    let mut passed = d.overdue;
    for due in &d.by_day {
        passed += due;
        overdue.push(passed);
    }
    BurnDown { on_time: overdue.iter().map(|o| total - o).collect(), overdue }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burn_down_moves_each_days_deadlines_from_on_time_to_overdue() {
        let buckets = DeadlineBuckets { overdue: 2, by_day: vec![1, 0, 3], later: 4 };
        assert_eq!(burn_down(&buckets), BurnDown { on_time: vec![7, 7, 4], overdue: vec![3, 3, 6] });
        let none = DeadlineBuckets { overdue: 0, by_day: vec![0, 0], later: 0 };
        assert_eq!(burn_down(&none), BurnDown { on_time: vec![0, 0], overdue: vec![0, 0] });
    }

    #[test]
    fn the_largest_backlogs_today_are_drawn_and_the_rest_counted() {
        let backlog: Vec<Backlog> = (0..10)
            .map(|i| Backlog { connector: format!("c{i}"), open: vec![1, i] })
            .chain([Backlog { connector: "idle".into(), open: vec![0, 0] }])
            .collect();
        let (shown, hidden) = backlog_series(&backlog);
        assert_eq!(shown.len(), PALETTE.len());
        assert_eq!(hidden, 10 - PALETTE.len(), "idle instances are neither drawn nor counted");
        assert_eq!(shown[0].name, "c9");
        assert_eq!(shown[0].values, [1, 9]);
    }

    #[test]
    fn day_labels_run_from_the_first_day() {
        let from = DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(day_labels(from, 4), ["11-29", "11-30", "12-01", "12-02"]);
    }
}
