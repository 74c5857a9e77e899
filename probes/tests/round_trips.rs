//! Property tests of the profile formats' round trips, on generated profiles with awkward names
//! (separators, spaces, digits at the end, the kernel suffix, non-ASCII): folded text read back
//! is the same folded text (what `armtune flame -o x.folded` does to a file), JSON read back is
//! the same profile, and pprof read back has the same stacks and weights.

use armtune_probes::{
    meta::Meta,
    pprof,
    profile::{Frame, FrameKind, Profile, Unit},
};
use proptest::prelude::*;

/// Frame names as programs, kernels and collapsers write them, with the characters the formats
/// give meaning to.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_:<>]{0,12}",
        "[a-z]{1,6}( [0-9]{1,4})?",
        "[a-z]{1,4}[;\n#]?[a-z]{0,4}",
        "[a-z]{1,6}_\\[k\\]",
        "\\[[a-z.]{1,8}\\]",
        "[äöü€名]{1,4}",
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    (name(), prop_oneof![Just(FrameKind::User), Just(FrameKind::Kernel)]).prop_map(|(n, k)| Frame::new(n, k))
}

fn profile() -> impl Strategy<Value = Profile> {
    let stack = ("[#a-z][a-z0-9 #-]{0,8}", prop::collection::vec(frame(), 0..8)).prop_map(|(process, frames)| {
        let mut stack = vec![Frame::process(process)];
        stack.extend(frames);
        stack
    });
    prop::collection::vec((stack, 1u64..1_000_000), 0..24).prop_map(|stacks| {
        let mut p = Profile::new(Unit::samples(), Meta::default());
        for (stack, weight) in stacks {
            p.add(stack, weight);
        }
        p.meta.samples = p.total();
        p
    })
}

fn folded(p: &Profile) -> String {
    let mut out = Vec::new();
    p.write_folded(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn folded_text_reads_back_as_itself(p in profile()) {
        let text = folded(&p);
        let read = Profile::read_folded(text.as_bytes(), Unit::samples()).unwrap();
        prop_assert_eq!(folded(&read), text);
        prop_assert_eq!(read.total(), p.total());
    }

    #[test]
    fn json_reads_back_as_the_same_profile(p in profile()) {
        let json = serde_json::to_string(&p).unwrap();
        let read: Profile = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&read.stacks, &p.stacks);
        prop_assert_eq!(read, p);
    }

    #[test]
    fn pprof_reads_back_with_the_same_stacks(p in profile()) {
        let (columns, period) = pprof::columns_of(&p);
        let mut bytes = Vec::new();
        pprof::write(&pprof::build(&columns, period, &p.meta), &mut bytes).unwrap();
        let read = pprof::decode(&bytes, None).unwrap();
        prop_assert_eq!(folded(&read), folded(&p));
    }
}
