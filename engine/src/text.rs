//! Quoting user input in messages: never more than a little of it, so a 5 MB bogus value
//! cannot become a 5 MB error line. The jobs crate and the CLI use these too.

use std::borrow::Cow;

/// The most bytes of one user-provided string an error message quotes.
pub const CLIP_BYTES: usize = 200;

/// `s` as quoted in an error message: at most [`CLIP_BYTES`] bytes (cut on a character
/// boundary), followed by `… (N bytes)` when it was longer. Every message that echoes
/// user input (ids, `set=` values, paths, spec values, sizes) goes through this.
pub fn clip(s: &str) -> Cow<'_, str> {
    clip_to(s, CLIP_BYTES)
}

/// `s` cut to at most `max` bytes as [`clip`] does (for whole messages, as a last guard).
pub fn clip_to(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… ({} bytes)", &s[..end], s.len()))
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
