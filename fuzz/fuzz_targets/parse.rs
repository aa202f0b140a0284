//! `cargo +nightly fuzz run parse`: the command parser and the error reply
//! must never panic, whatever a group member types.
#![no_main]

use chrono::NaiveDate;
use liancun::command::{ParseCtx, normalize, parse};
use liancun::reply::parse::parse_error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes become UTF-8 the way a lossy decoder would deliver them.
    let text = String::from_utf8_lossy(data);
    let bot_names = ["联村助手".to_string(), "小帮手".to_string()];
    let Some(today) = NaiveDate::from_ymd_opt(2026, 12, 2) else {
        return;
    };
    let Some(now) = today.and_hms_opt(10, 0, 0) else {
        return;
    };
    let ctx = ParseCtx {
        today,
        now,
        bot_names: &bot_names,
    };
    match parse(&text, &ctx) {
        Ok(command) => {
            let _ = command.kind();
        }
        Err(e) => {
            assert!(!parse_error(&e).is_empty());
        }
    }
    // Normalizing twice changes nothing when there are no bot names to strip.
    let once = normalize(&text, &[]);
    assert_eq!(normalize(&once, &[]), once);
});
