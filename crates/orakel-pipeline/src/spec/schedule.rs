//! The `schedule` of `cron` jobs, in the established syntax:
//!
//! - six cron fields with seconds: `second minute hour day-of-month month day-of-week`,
//!   optionally after `CRON_TZ=<IANA zone>` (or `TZ=<zone>`); without a zone, UTC. Fields
//!   follow Vixie cron: `*`, lists, ranges, steps (`*/5`, `10-40/10`, `0/10`), month and day
//!   names, `?` for "any" in the day fields, day of week `0`–`7` with `0` and `7` Sunday;
//!   when both day fields are restricted a day matching either one matches;
//! - the descriptors `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`)
//!   and `@hourly`, which may follow a zone;
//! - `@every <duration>` (e.g. `@every 30s`, `@every 1h30m`): a fixed interval counted from
//!   the moment the node starts serving the job, independent of any time zone. Intervals are
//!   whole seconds, at least one.

use std::fmt;
use std::time::{Duration, SystemTime};

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::parse_duration;

const FIELD_NAMES: [&str; 6] = [
    "second",
    "minute",
    "hour",
    "day of month",
    "month",
    "day of week",
];

/// A problem with a schedule, at a byte offset of the schedule text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScheduleError {
    /// Byte offset in the schedule text where the problem starts.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// When a `cron` job runs. Parse once with [`Schedule::parse`], then ask
/// [`Schedule::next_after`].
#[derive(Clone, Debug)]
pub struct Schedule {
    text: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Every(Duration),
    Cron { cron: Box<Cron>, zone: TimeZone },
}

fn err(offset: usize, message: impl Into<String>) -> ScheduleError {
    ScheduleError {
        offset,
        message: message.into(),
    }
}

/// Splits `s` (which starts at `base` in the whole text) into whitespace-separated words with
/// their offsets.
fn words(s: &str, base: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((base + st, s.get(st..i).unwrap_or("")));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((base + st, s.get(st..).unwrap_or("")));
    }
    out
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Disallowed)
        // `0/10` (start/step) is accepted by the established scheduler.
        .sloppy_ranges(true)
        .build()
}

fn descriptor(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 0 1 1 *",
        "@monthly" => "0 0 0 1 * *",
        "@weekly" => "0 0 0 * * 0",
        "@daily" | "@midnight" => "0 0 0 * * *",
        "@hourly" => "0 0 * * * *",
        _ => return None,
    })
}

impl Schedule {
    /// Parses a schedule. Errors carry the byte offset of the part that is wrong.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        Self::parse_with_warnings(text).map(|(s, _)| s)
    }

    /// Parses a schedule and also returns remarks about it (a missing zone, an interval that
    /// was rounded).
    pub(crate) fn parse_with_warnings(
        text: &str,
    ) -> Result<(Schedule, Vec<String>), ScheduleError> {
        let mut warnings = Vec::new();
        let mut parts = words(text, 0);
        if parts.is_empty() {
            return Err(err(0, "the schedule is empty"));
        }
        // Optional zone prefix.
        let mut zone: Option<TimeZone> = None;
        if let Some(&(offset, first)) = parts.first() {
            let prefix = ["CRON_TZ=", "TZ="]
                .into_iter()
                .find(|p| first.starts_with(p));
            if let Some(prefix) = prefix {
                let name = first.get(prefix.len()..).unwrap_or("");
                let name_offset = offset + prefix.len();
                if name.is_empty() {
                    return Err(err(
                        name_offset,
                        format!("missing time zone name after {prefix}"),
                    ));
                }
                let tz = TimeZone::get(name).map_err(|_| {
                    err(
                        name_offset,
                        format!(
                            "unknown time zone {name:?} (expected an IANA name such as \"UTC\" or \"Europe/Berlin\")"
                        ),
                    )
                })?;
                zone = Some(tz);
                parts.remove(0);
            }
        }
        let Some(&(start, first)) = parts.first() else {
            return Err(err(
                text.len(),
                "missing schedule after the time zone: expected 6 cron fields or an @descriptor",
            ));
        };

        if first.eq_ignore_ascii_case("@every") {
            let Some(&(d_offset, _)) = parts.get(1) else {
                return Err(err(
                    start,
                    "@every needs a duration, e.g. \"@every 30s\" or \"@every 1h30m\"",
                ));
            };
            let d_text = text.get(d_offset..).unwrap_or("").trim_end();
            let mut d = parse_duration(d_text).map_err(|m| err(d_offset, m))?;
            if zone.is_some() {
                warnings
                    .push("schedule: the time zone has no effect on @every intervals".to_owned());
            }
            if d < Duration::from_secs(1) {
                warnings.push(format!(
                    "schedule: @every {d_text} is shorter than one second; running every second"
                ));
                d = Duration::from_secs(1);
            } else if d.subsec_nanos() != 0 {
                d = Duration::from_secs(d.as_secs());
                warnings.push(format!(
                    "schedule: @every {d_text} rounded down to whole seconds ({}s)",
                    d.as_secs()
                ));
            }
            return Ok((
                Schedule {
                    text: text.to_owned(),
                    kind: Kind::Every(d),
                },
                warnings,
            ));
        }

        let zone = match zone {
            Some(z) => z,
            None => {
                warnings
                    .push("schedule: no CRON_TZ= prefix; the schedule is read in UTC".to_owned());
                TimeZone::UTC
            }
        };

        let fields: Vec<(usize, String)> = if first.starts_with('@') {
            if parts.len() > 1 {
                return Err(err(
                    parts.get(1).map(|p| p.0).unwrap_or(start),
                    format!("unexpected text after {first}"),
                ));
            }
            let expanded = descriptor(first).ok_or_else(|| {
                err(
                    start,
                    format!(
                        "unknown schedule descriptor {first:?} (expected @every <duration>, @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"
                    ),
                )
            })?;
            // Errors cannot arise inside an expansion; point them at the descriptor.
            expanded.split(' ').map(|f| (start, f.to_owned())).collect()
        } else {
            parts.iter().map(|&(o, f)| (o, f.to_owned())).collect()
        };

        if fields.len() != 6 {
            let hint = if fields.len() == 5 {
                format!(
                    "; the first field is the second, e.g. \"0 {}\"",
                    text.get(start..).unwrap_or("").trim()
                )
            } else {
                String::new()
            };
            return Err(err(
                start,
                format!(
                    "expected 6 fields (second minute hour day-of-month month day-of-week), got {}{hint}",
                    fields.len()
                ),
            ));
        }

        let pattern = fields
            .iter()
            .map(|(_, f)| f.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let cron = match parser().parse(&pattern) {
            Ok(c) => c,
            Err(e) => return Err(locate_field_error(&fields, start, &e.to_string())),
        };
        let schedule = Schedule {
            text: text.to_owned(),
            kind: Kind::Cron {
                cron: Box::new(cron),
                zone,
            },
        };
        // A schedule that can never fire (e.g. 30 February) is a mistake worth reporting now.
        if schedule.next_after(SystemTime::now()).is_none() {
            return Err(err(start, "the schedule never fires"));
        }
        Ok((schedule, warnings))
    }

    /// The schedule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// For `@every` schedules, the interval.
    pub fn interval(&self) -> Option<Duration> {
        match self.kind {
            Kind::Every(d) => Some(d),
            Kind::Cron { .. } => None,
        }
    }

    /// The time zone of a cron expression (`None` for `@every`).
    pub fn time_zone(&self) -> Option<&TimeZone> {
        match &self.kind {
            Kind::Every(_) => None,
            Kind::Cron { zone, .. } => Some(zone),
        }
    }

    /// The first firing time strictly after `after`. For `@every` that is `after` plus the
    /// interval (the caller passes the previous firing time, or the time serving started).
    /// `None` when the schedule never fires again.
    pub fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        match &self.kind {
            Kind::Every(d) => after.checked_add(*d),
            Kind::Cron { cron, zone } => {
                let ts = Timestamp::try_from(after).ok()?;
                let zoned = ts.to_zoned(zone.clone());
                let next = cron.find_next_occurrence(&zoned, false).ok()?;
                Some(SystemTime::from(next.timestamp()))
            }
        }
    }
}

/// Finds which field a parse error comes from by parsing each field alone (the others `*`),
/// so the error can point at it.
fn locate_field_error(fields: &[(usize, String)], start: usize, message: &str) -> ScheduleError {
    let p = parser();
    for (i, (offset, field)) in fields.iter().enumerate() {
        let probe: Vec<&str> = (0..fields.len())
            .map(|j| if j == i { field.as_str() } else { "*" })
            .collect();
        if let Err(e) = p.parse(&probe.join(" ")) {
            let name = FIELD_NAMES.get(i).copied().unwrap_or("cron");
            return err(*offset, format!("invalid {name} field {field:?}: {e}"));
        }
    }
    err(start, format!("invalid cron expression: {message}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use jiff::civil::DateTime;
    use proptest::prelude::*;

    fn at(zone: &str, dt: &str) -> SystemTime {
        let dt: DateTime = dt.parse().unwrap();
        let z = dt.to_zoned(TimeZone::get(zone).unwrap()).unwrap();
        SystemTime::from(z.timestamp())
    }

    fn zoned(zone: &str, t: SystemTime) -> String {
        Timestamp::try_from(t)
            .unwrap()
            .to_zoned(TimeZone::get(zone).unwrap())
            .datetime()
            .to_string()
    }

    #[test]
    fn six_fields_with_zone() {
        let s = Schedule::parse("CRON_TZ=Europe/Berlin 0 */5 * * * *").unwrap();
        let next = s
            .next_after(at("Europe/Berlin", "2024-03-01T10:02:17"))
            .unwrap();
        assert_eq!(zoned("Europe/Berlin", next), "2024-03-01T10:05:00");
        assert_eq!(
            s.time_zone().and_then(|z| z.iana_name()),
            Some("Europe/Berlin")
        );
    }

    #[test]
    fn zone_changes_the_instant() {
        let berlin = Schedule::parse("CRON_TZ=Europe/Berlin 0 0 9 * * *").unwrap();
        let utc = Schedule::parse("CRON_TZ=UTC 0 0 9 * * *").unwrap();
        let t = at("UTC", "2024-01-10T00:00:00");
        assert_eq!(
            zoned("UTC", berlin.next_after(t).unwrap()),
            "2024-01-10T08:00:00"
        );
        assert_eq!(
            zoned("UTC", utc.next_after(t).unwrap()),
            "2024-01-10T09:00:00"
        );
    }

    #[test]
    fn daylight_saving_gap_runs_once_when_the_clock_jumps() {
        // 02:30 does not exist in Berlin on 2024-03-31 (02:00 jumps to 03:00): that day the
        // job runs once, as the gap ends, then at 02:30 again.
        let s = Schedule::parse("CRON_TZ=Europe/Berlin 0 30 2 * * *").unwrap();
        let before = at("Europe/Berlin", "2024-03-31T01:00:00");
        let first = s.next_after(before).unwrap();
        assert_eq!(zoned("Europe/Berlin", first), "2024-03-31T03:00:00");
        let second = s.next_after(first).unwrap();
        assert_eq!(zoned("Europe/Berlin", second), "2024-04-01T02:30:00");
    }

    #[test]
    fn weekdays_follow_vixie_cron() {
        // 1 = Monday; 2024-01-10 is a Wednesday.
        let s = Schedule::parse("CRON_TZ=UTC 0 0 12 * * 1").unwrap();
        let next = s.next_after(at("UTC", "2024-01-10T00:00:00")).unwrap();
        assert_eq!(zoned("UTC", next), "2024-01-15T12:00:00");
        let sun0 = Schedule::parse("CRON_TZ=UTC 0 0 12 * * 0").unwrap();
        let sun7 = Schedule::parse("CRON_TZ=UTC 0 0 12 * * SUN").unwrap();
        let t = at("UTC", "2024-01-10T00:00:00");
        assert_eq!(sun0.next_after(t), sun7.next_after(t));
        assert_eq!(
            zoned("UTC", sun0.next_after(t).unwrap()),
            "2024-01-14T12:00:00"
        );
        // Both day fields restricted: either matches (the 15th, or any Friday).
        let either = Schedule::parse("CRON_TZ=UTC 0 0 0 15 * 5").unwrap();
        assert_eq!(
            zoned("UTC", either.next_after(t).unwrap()),
            "2024-01-12T00:00:00"
        );
    }

    #[test]
    fn descriptors_and_every() {
        let t = at("UTC", "2024-01-10T10:20:30");
        let hourly = Schedule::parse("@hourly").unwrap();
        assert_eq!(
            zoned("UTC", hourly.next_after(t).unwrap()),
            "2024-01-10T11:00:00"
        );
        let daily = Schedule::parse("CRON_TZ=UTC @daily").unwrap();
        assert_eq!(
            zoned("UTC", daily.next_after(t).unwrap()),
            "2024-01-11T00:00:00"
        );
        let every = Schedule::parse("@every 1m30s").unwrap();
        assert_eq!(every.interval(), Some(Duration::from_secs(90)));
        assert_eq!(every.next_after(t), t.checked_add(Duration::from_secs(90)));
        let (short, warnings) = Schedule::parse_with_warnings("@every 200ms").unwrap();
        assert_eq!(short.interval(), Some(Duration::from_secs(1)));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn missing_zone_is_utc_with_a_warning() {
        let (s, w) = Schedule::parse_with_warnings("0 0 * * * *").unwrap();
        assert_eq!(s.time_zone(), Some(&TimeZone::UTC));
        assert!(w.iter().any(|w| w.contains("CRON_TZ")), "{w:?}");
    }

    #[test]
    fn errors_point_at_the_wrong_part() {
        let e = Schedule::parse("CRON_TZ=Europe/Berln 0 * * * * *").unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(e.message.contains("Europe/Berln"), "{e}");

        let text = "CRON_TZ=UTC 0 61 * * * *";
        let e = Schedule::parse(text).unwrap_err();
        assert_eq!(e.offset, text.find("61").unwrap());
        assert!(e.message.starts_with("invalid minute field \"61\""), "{e}");

        let e = Schedule::parse("CRON_TZ=UTC */5 * * * *").unwrap_err();
        assert_eq!(e.offset, 12);
        assert!(e.message.contains("got 5"), "{e}");
        assert!(e.message.contains("\"0 */5 * * * *\""), "{e}");

        let e = Schedule::parse("@fortnightly").unwrap_err();
        assert!(e.message.contains("unknown schedule descriptor"), "{e}");
        let e = Schedule::parse("@every soon").unwrap_err();
        assert_eq!(e.offset, 7);
        let e = Schedule::parse("").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let e = Schedule::parse("CRON_TZ=UTC 0 0 0 30 2 *").unwrap_err();
        assert!(e.message.contains("never fires"), "{e}");
        let e = Schedule::parse("CRON_TZ=UTC 0 0 0 * * 9").unwrap_err();
        assert!(e.message.contains("day of week"), "{e}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = Schedule::parse(&text);
        }

        #[test]
        fn fixed_time_fires_at_that_time_next(
            s in 0u32..60, m in 0u32..60, h in 0u32..24,
            start in 1_600_000_000u64..1_900_000_000u64,
        ) {
            let sched = Schedule::parse(&format!("CRON_TZ=UTC {s} {m} {h} * * *")).unwrap();
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(start);
            let next = sched.next_after(t).unwrap();
            prop_assert!(next > t);
            let delta = next.duration_since(t).unwrap();
            prop_assert!(delta <= Duration::from_secs(86_400));
            let secs = next.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
            let of_day = secs % 86_400;
            prop_assert_eq!(of_day, u64::from(h * 3600 + m * 60 + s));
            // The next run after a run is a day later.
            prop_assert_eq!(sched.next_after(next), next.checked_add(Duration::from_secs(86_400)));
        }

        #[test]
        fn second_steps_match_brute_force(
            step in 1u32..60, offset_secs in 0u64..10_000, nanos in 0u32..1_000_000_000,
        ) {
            let sched = Schedule::parse(&format!("CRON_TZ=UTC */{step} * * * * *")).unwrap();
            let t = SystemTime::UNIX_EPOCH
                + Duration::from_secs(1_700_000_000 + offset_secs)
                + Duration::from_nanos(u64::from(nanos));
            let next = sched.next_after(t).unwrap();
            // Brute force: the first whole second after t whose second-of-minute is a multiple
            // of the step.
            let base = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
            let expected = (base + 1..base + 120)
                .find(|s| (s % 60) % u64::from(step) == 0)
                .unwrap();
            prop_assert_eq!(
                next.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
                expected
            );
        }

        #[test]
        fn every_adds_the_interval(secs in 1u64..1_000_000, start in 0u64..2_000_000_000) {
            let sched = Schedule::parse(&format!("@every {secs}s")).unwrap();
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(start);
            prop_assert_eq!(sched.next_after(t), Some(t + Duration::from_secs(secs)));
        }
    }
}
