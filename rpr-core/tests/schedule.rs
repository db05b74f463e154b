//! Tests of the freezing-fraction schedules: parsing, errors, lookup.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rpr_core::schedule::{FfSchedule, ScheduleError};

#[test]
fn parses_example_schedule() {
    let schedule: FfSchedule = "0:0.9,20:0.95,30:1.0".parse().unwrap();
    assert_eq!(schedule.points(), &[(0, 0.9), (20, 0.95), (30, 1.0)]);
}

#[test]
fn parse_allows_spaces() {
    let schedule: FfSchedule = " 0 : 0.9 , 5:1 ".parse().unwrap();
    assert_eq!(schedule.points(), &[(0, 0.9), (5, 1.0)]);
}

#[test]
fn display_round_trips() {
    let text = "0:0.9,20:0.95,30:1";
    let schedule: FfSchedule = text.parse().unwrap();
    assert_eq!(schedule.to_string(), text);
}

#[test]
fn ff_at_holds_last_point() {
    let schedule: FfSchedule = "0:0.9,20:0.95,30:1.0".parse().unwrap();
    let expected = [
        (0, 0.9),
        (19, 0.9),
        (20, 0.95),
        (29, 0.95),
        (30, 1.0),
        (1000, 1.0),
    ];
    for (epoch, ff) in expected {
        assert_eq!(schedule.ff_at(epoch), ff, "epoch {epoch}");
    }
}

#[test]
fn last_change_epoch_skips_flat_tail() {
    let cases = [
        ("0:0.9,20:0.95,30:1.0", 30),
        ("0:0.9,10:0.9", 0),
        ("0:0.5,4:0.9,9:0.9", 4),
        ("0:1", 0),
    ];
    for (text, expected) in cases {
        let schedule: FfSchedule = text.parse().unwrap();
        assert_eq!(schedule.last_change_epoch(), expected, "{text}");
    }
}

#[test]
fn geometric_halves_relaxed_fraction() {
    let schedule = FfSchedule::geometric(10);
    let expected = [
        (0, 0.9f32),
        (10, 0.95),
        (20, 0.975),
        (30, 0.9875),
        (40, 0.99375),
        (50, 1.0),
    ];
    assert_eq!(schedule.points(), &expected);
    for pair in schedule.points().windows(2).take(4) {
        let ratio = (1.0 - pair[1].1) / (1.0 - pair[0].1);
        assert!((ratio - 0.5).abs() < 1e-5, "relaxed fraction ratio {ratio}");
    }
    assert_eq!(schedule.last_change_epoch(), 50);
}

#[test]
fn geometric_edge_steps() {
    assert_eq!(FfSchedule::geometric(0).points(), &[(0, 1.0)]);
    let huge = FfSchedule::geometric(usize::MAX / 2);
    assert_eq!(huge.points().len(), 3);
    assert_eq!(huge.ff_at(usize::MAX), 0.975);
}

#[test]
fn new_checks_points() {
    assert!(FfSchedule::new(vec![(0, 0.9), (3, 1.0)]).is_ok());
    let error = FfSchedule::new(vec![(0, 0.9), (3, 0.8)]).unwrap_err();
    assert!(
        matches!(error, ScheduleError::FfDecreasing { position: 1, .. }),
        "{error}"
    );
    assert_eq!(FfSchedule::new(vec![]).unwrap_err(), ScheduleError::Empty);
}

/// Parses `text`, expecting an error whose message names `entry` and shows the syntax.
fn parse_error(text: &str, entry: &str) -> ScheduleError {
    let error = text.parse::<FfSchedule>().unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("`{entry}`")),
        "`{text}`: {message}"
    );
    assert!(
        message.contains("0:0.9,20:0.95,30:1.0"),
        "`{text}`: {message}"
    );
    error
}

#[test]
fn rejects_ff_outside_unit_interval() {
    for (text, entry) in [
        ("0:1.5", "0:1.5"),
        ("0:0.9,5:-0.1", "5:-0.1"),
        ("0:NaN", "0:NaN"),
        ("0:inf", "0:inf"),
    ] {
        let error = parse_error(text, entry);
        assert!(
            matches!(error, ScheduleError::FfOutOfRange { .. }),
            "{error}"
        );
    }
}

#[test]
fn rejects_decreasing_ff() {
    let error = parse_error("0:0.9,10:0.95,20:0.93", "20:0.93");
    assert!(
        matches!(error, ScheduleError::FfDecreasing { position: 2, .. }),
        "{error}"
    );
}

#[test]
fn rejects_unsorted_epochs() {
    let error = parse_error("0:0.9,20:0.95,10:1.0", "10:1.0");
    assert!(
        matches!(
            error,
            ScheduleError::EpochNotIncreasing {
                position: 2,
                previous: 20,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn rejects_duplicate_epochs() {
    let error = parse_error("0:0.9,10:0.95,10:1.0", "10:1.0");
    assert!(
        matches!(
            error,
            ScheduleError::EpochNotIncreasing {
                position: 2,
                previous: 10,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn rejects_late_first_point() {
    let error = parse_error("5:0.9,10:1.0", "5:0.9");
    assert!(
        matches!(error, ScheduleError::FirstEpochNotZero { .. }),
        "{error}"
    );
}

#[test]
fn rejects_garbage() {
    let cases = [
        ("0:0.9,abc", "abc"),
        ("0:0.9,", ""),
        ("0:0.9;10:1.0", "0:0.9;10:1.0"),
        ("0:", "0:"),
        (":0.9", ":0.9"),
        ("0:0.9:1", "0:0.9:1"),
        ("0:x", "0:x"),
    ];
    for (text, entry) in cases {
        let error = parse_error(text, entry);
        assert!(
            matches!(error, ScheduleError::Syntax { .. }),
            "`{text}`: {error}"
        );
    }
    for (text, entry) in [
        ("-1:0.9", "-1:0.9"),
        ("0:0.9,1.5:1", "1.5:1"),
        ("x:1", "x:1"),
    ] {
        let error = parse_error(text, entry);
        assert!(
            matches!(error, ScheduleError::InvalidEpoch { .. }),
            "`{text}`: {error}"
        );
    }
}

#[test]
fn rejects_empty_text() {
    for text in ["", "   "] {
        let error = text.parse::<FfSchedule>().unwrap_err();
        assert_eq!(error, ScheduleError::Empty);
        assert!(error.to_string().contains("0:0.9,20:0.95,30:1.0"));
    }
}

#[test]
fn serde_uses_text_form() {
    let schedule = FfSchedule::geometric(2);
    let json = serde_json::to_string(&schedule).unwrap();
    assert_eq!(json, "\"0:0.9,2:0.95,4:0.975,6:0.9875,8:0.99375,10:1\"");
    assert_eq!(serde_json::from_str::<FfSchedule>(&json).unwrap(), schedule);
    assert!(serde_json::from_str::<FfSchedule>("\"0:2\"").is_err());
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        rng_seed: RngSeed::Fixed(0x7363_6865),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Valid schedules: epoch gaps of at least 1 and non-decreasing FF values.
fn schedule_points() -> impl Strategy<Value = Vec<(usize, f32)>> {
    prop::collection::vec((1usize..50, 0.0f32..=1.0), 1..8).prop_map(|steps| {
        let mut ffs: Vec<f32> = steps.iter().map(|&(_, ff)| ff).collect();
        ffs.sort_by(f32::total_cmp);
        let mut epoch = 0;
        steps
            .iter()
            .zip(ffs)
            .enumerate()
            .map(|(i, (&(gap, _), ff))| {
                if i > 0 {
                    epoch += gap;
                }
                (epoch, ff)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn text_form_round_trips(points in schedule_points()) {
        let schedule = FfSchedule::new(points.clone()).unwrap();
        let parsed: FfSchedule = schedule.to_string().parse().unwrap();
        prop_assert_eq!(parsed.points(), &points[..]);
    }

    #[test]
    fn ff_at_is_monotone_and_hits_points(points in schedule_points(), epoch in 0usize..400) {
        let schedule = FfSchedule::new(points.clone()).unwrap();
        prop_assert!(schedule.ff_at(epoch) <= schedule.ff_at(epoch + 1));
        for &(start, ff) in &points {
            prop_assert_eq!(schedule.ff_at(start), ff);
        }
        prop_assert_eq!(schedule.ff_at(schedule.last_change_epoch()), schedule.final_ff());
    }

    #[test]
    fn garbage_never_panics(text in "[0-9:.,a-z -]{0,30}") {
        if let Ok(schedule) = text.parse::<FfSchedule>() {
            prop_assert_eq!(schedule.points()[0].0, 0);
        }
    }
}
