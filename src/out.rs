//! Command output on stdout that never panics when the reader goes away.
//!
//! `println!` panics when stdout is a closed pipe (`morpheus jobs show 6 | head -3`).
//! [`outln!`] and [`out!`] write through [`std::io::Stdout`] and return the write's
//! `io::Result`, so a command ends with `?`; `main` turns a `BrokenPipe` into exit 0.

use std::io::Write;

/// Writes `args` and, with `newline`, a line break to stdout.
///
/// # Errors
/// The write's error (`BrokenPipe` when the reader has gone away).
pub(crate) fn write(args: std::fmt::Arguments<'_>, newline: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    if newline {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// `println!` that returns the write's `io::Result` instead of panicking.
macro_rules! outln {
    () => {
        $crate::out::write(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*), true)
    };
}

/// `print!` that returns the write's `io::Result` instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*), false)
    };
}
