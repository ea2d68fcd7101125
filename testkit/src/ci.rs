//! Tests that need what the machine may lack (root, a tool) skip outside CI and fail under
//! `CI=true`, never skip silently there.

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// True when the test must fail rather than skip for lack of privileges or tools.
pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// Skips (returns false) a root-only test outside CI; fails it under CI=true.
pub fn require_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(!in_ci(), "{test} needs root and CI=true: failing instead of skipping");
    eprintln!("skipping {test}: needs root");
    false
}
