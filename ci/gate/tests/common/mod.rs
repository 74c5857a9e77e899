//! Helpers the gate's integration tests share.

/// A token of GitHub's classic format (`ghp_` and 36 letters and digits), made up from `seed`,
/// so no secret is written in the repository.
pub fn github_token(seed: u64) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed;
    let body: String = (0..36)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            alphabet[(x >> 33) as usize % alphabet.len()] as char
        })
        .collect();
    format!("ghp_{body}")
}
