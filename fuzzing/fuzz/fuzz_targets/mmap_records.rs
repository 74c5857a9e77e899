//! libFuzzer target: [`armtune_fuzz::mmap_records`] (its doc says what it covers).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| armtune_fuzz::mmap_records(data));
