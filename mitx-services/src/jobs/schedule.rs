//! When periodic jobs are due (courses spec 4.7, integrations spec 6). Ticks are absolute
//! times, the same for every worker, so one compare-and-set per tick makes it run once
//! across all workers (`mitx_store::jobs`).
//!
//! "Every N, offset O" ticks at the times t with (t − O) a multiple of N since the Unix
//! epoch. (Celery's beat counts from its own start; absolute ticks let any number of
//! workers agree without one of them being the beat. docs/compatibility.md.)

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};

/// A periodic job's schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Every `period`, shifted by `offset`.
    Every {
        /// Period.
        period: Duration,
        /// Offset.
        offset: Duration,
    },
    /// At `minute` past every hour in `hours` (all hours when empty), on `weekdays` (all
    /// days when empty).
    Cron {
        /// The minute (0–59).
        minute: u32,
        /// The hours (0–23); empty means every hour.
        hours: Vec<u32>,
        /// The days of the week; empty means every day.
        weekdays: Vec<Weekday>,
    },
    /// Every minute during `hours`.
    EveryMinute {
        /// The hours (0–23).
        hours: Vec<u32>,
    },
}

impl Schedule {
    /// Every `seconds`, offset by `offset_seconds`.
    pub fn every(seconds: i64, offset_seconds: i64) -> Schedule {
        Schedule::Every {
            period: Duration::seconds(seconds.max(1)),
            offset: Duration::seconds(offset_seconds),
        }
    }

    /// Daily at `hour:minute`.
    pub fn daily(hour: u32, minute: u32) -> Schedule {
        Schedule::Cron {
            minute,
            hours: vec![hour],
            weekdays: vec![],
        }
    }

    /// The latest tick at or before `now`, if one exists within the last eight days.
    pub fn latest_tick(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every { period, offset } => {
                let period = period.num_seconds().max(1);
                let since = now.timestamp() - offset.num_seconds();
                let tick = since.div_euclid(period) * period + offset.num_seconds();
                Utc.timestamp_opt(tick, 0).single()
            }
            Schedule::Cron {
                minute,
                hours,
                weekdays,
            } => {
                let start = now.with_second(0)?.with_nanosecond(0)?;
                // Walk back hour by hour (at most eight days) to the latest matching slot.
                let mut slot = start.with_minute(*minute)?;
                if slot > now {
                    slot -= Duration::hours(1);
                }
                for _ in 0..(8 * 24) {
                    let hour_ok = hours.is_empty() || hours.contains(&slot.hour());
                    let day_ok = weekdays.is_empty() || weekdays.contains(&slot.weekday());
                    if hour_ok && day_ok {
                        return Some(slot);
                    }
                    slot -= Duration::hours(1);
                }
                None
            }
            Schedule::EveryMinute { hours } => {
                let mut slot = now.with_second(0)?.with_nanosecond(0)?;
                for _ in 0..(8 * 24 * 60) {
                    if hours.contains(&slot.hour()) {
                        return Some(slot);
                    }
                    slot -= Duration::minutes(1);
                }
                None
            }
        }
    }

    /// People's description (`every 30 min`, `daily 01:00`).
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every { period, offset } => {
                let every = human(*period);
                if offset.is_zero() {
                    format!("every {every}")
                } else {
                    format!("every {every}, offset {}", human(*offset))
                }
            }
            Schedule::Cron {
                minute,
                hours,
                weekdays,
            } => {
                let days = if weekdays.is_empty() {
                    "daily".to_owned()
                } else {
                    weekdays
                        .iter()
                        .map(|d| format!("{d}"))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                if hours.is_empty() {
                    format!("hourly at :{minute:02}")
                } else {
                    let times: Vec<String> = hours
                        .iter()
                        .map(|h| format!("{h:02}:{minute:02}"))
                        .collect();
                    format!("{days} {}", times.join(","))
                }
            }
            Schedule::EveryMinute { hours } => {
                let list: Vec<String> = hours.iter().map(|h| format!("{h:02}")).collect();
                format!("every minute during hours {}", list.join(","))
            }
        }
    }
}

fn human(d: Duration) -> String {
    let s = d.num_seconds();
    if s % 86_400 == 0 {
        format!("{} d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn interval_ticks_are_absolute() {
        let every_30 = Schedule::every(1800, 0);
        let cases = [
            ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00Z"),
            ("2026-03-01T12:29:59Z", "2026-03-01T12:00:00Z"),
            ("2026-03-01T12:30:00Z", "2026-03-01T12:30:00Z"),
        ];
        for (now, tick) in cases {
            assert_eq!(every_30.latest_tick(at(now)), Some(at(tick)), "{now}");
        }
        let offset = Schedule::every(1800, 900);
        assert_eq!(
            offset.latest_tick(at("2026-03-01T12:10:00Z")),
            Some(at("2026-03-01T11:45:00Z"))
        );
        assert_eq!(
            offset.latest_tick(at("2026-03-01T12:15:00Z")),
            Some(at("2026-03-01T12:15:00Z"))
        );
    }

    #[test]
    fn cron_ticks() {
        let daily = Schedule::daily(0, 10);
        assert_eq!(
            daily.latest_tick(at("2026-03-01T00:09:59Z")),
            Some(at("2026-02-28T00:10:00Z"))
        );
        assert_eq!(
            daily.latest_tick(at("2026-03-01T00:10:00Z")),
            Some(at("2026-03-01T00:10:00Z"))
        );
        let hourly = Schedule::Cron {
            minute: 0,
            hours: vec![],
            weekdays: vec![],
        };
        assert_eq!(
            hourly.latest_tick(at("2026-03-01T13:59:00Z")),
            Some(at("2026-03-01T13:00:00Z"))
        );
        let mondays = Schedule::Cron {
            minute: 0,
            hours: vec![9],
            weekdays: vec![Weekday::Mon],
        };
        // 2026-03-04 is a Wednesday; the Monday before is 2026-03-02.
        assert_eq!(
            mondays.latest_tick(at("2026-03-04T12:00:00Z")),
            Some(at("2026-03-02T09:00:00Z"))
        );
    }

    #[test]
    fn sheets_window_runs_at_ten_and_two_fifty_nine_not_at_three() {
        // integrations spec 8 scenario 20: every minute, hours 10–23 and 0–2.
        let mut hours: Vec<u32> = (10..=23).collect();
        hours.extend(0..=2);
        let sheets = Schedule::EveryMinute { hours };
        let due = |now: &str| sheets.latest_tick(at(now)) == Some(at(now));
        assert!(due("2024-01-05T10:00:00Z"));
        assert!(due("2024-01-05T02:59:00Z"));
        assert!(!due("2024-01-05T03:00:00Z"));
        assert!(!due("2024-01-05T09:59:00Z"));
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            Schedule::every(1800, 900).describe(),
            "every 30 min, offset 15 min"
        );
        assert_eq!(Schedule::daily(1, 0).describe(), "daily 01:00");
    }
}
