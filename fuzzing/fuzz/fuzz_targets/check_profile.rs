//! libFuzzer target: [`armtune_fuzz::check_profile`] (its doc says what it covers).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armtune_fuzz::check_profile(data));
