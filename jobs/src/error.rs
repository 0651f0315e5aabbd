//! Error type of the jobs crate.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the jobs layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option or argument is not acceptable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// The most bytes of one user-provided string an error message quotes.
pub const CLIP_BYTES: usize = 200;

/// `s` as quoted in an error message: at most [`CLIP_BYTES`] bytes (cut on a character
/// boundary), followed by `… (N bytes)` when it was longer. Every message that echoes
/// user input (ids, `set=` values, paths, spec values) goes through this.
pub fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    clip_to(s, CLIP_BYTES)
}

/// `s` cut to at most `max` bytes as [`clip`] does (for whole messages, as a last guard).
pub fn clip_to(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}… ({} bytes)", &s[..end], s.len()))
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clip_keeps_short_strings_and_cuts_long_ones_on_a_char_boundary() {
        assert_eq!(clip("abc"), "abc");
        let long = "é".repeat(1000);
        let c = clip(&long);
        assert!(c.len() < 230, "{}", c.len());
        assert!(c.ends_with("… (2000 bytes)"), "{c}");
    }
}
