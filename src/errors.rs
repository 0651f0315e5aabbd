//! How the CLI reports a failure: usage errors exit 2, every other error 1, and each
//! message of an error chain is said once.

use std::fmt;
use std::process::ExitCode;

/// An argument problem found after clap parsed the command line (a missing `--source`,
/// a ratio out of range, flags that contradict each other): `main` exits 2 for it, as for
/// clap's own errors.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `usage!("…", args)`: an [`anyhow::Error`] holding a [`UsageError`].
macro_rules! usage {
    ($($arg:tt)*) => {
        anyhow::Error::new($crate::errors::UsageError(format!($($arg)*)))
    };
}

/// The error chain as one line, `outer: cause: cause`, leaving out a cause whose text the
/// line already holds (many error types print their source in their own message, so
/// `{:#}` would say `No such file or directory (os error 2)` twice).
pub(crate) fn message(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Whether the reader of stdout went away (`morpheus … | head`): a write failed with
/// `BrokenPipe` somewhere in the chain.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether a [`UsageError`] is anywhere in the chain.
fn is_usage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<UsageError>())
}

/// Reports `e` on stderr and gives the exit code: 0 for a closed stdout (the reader's
/// choice, not a failure), 2 for a usage error, 1 otherwise.
pub(crate) fn report(e: &anyhow::Error) -> ExitCode {
    if broken_pipe(e) {
        return ExitCode::SUCCESS;
    }
    // A last guard: the parts quote at most a little input each, but a chain is unbounded.
    eprintln!("error: {}", morpheus_engine::clip_to(&message(e), 4096));
    if is_usage(e) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Prints a command-line parse error (clap's text) and gives its exit code: 2, or 0 for
/// `--help` and `--version`. clap quotes a rejected value whole, so a line longer than a
/// kilobyte keeps its start and its end (the reason) and drops the middle.
pub(crate) fn report_clap(e: &clap::Error) -> ExitCode {
    // The reason is at the end of clap's line, after the value; keep more of the end.
    const HEAD: usize = 300;
    const TAIL: usize = 700;
    let text = e.render().to_string();
    let mut out = String::with_capacity(text.len().min(8192));
    for line in text.lines() {
        if line.len() <= HEAD + TAIL + 100 {
            out.push_str(line);
        } else {
            let mut head = HEAD;
            while !line.is_char_boundary(head) {
                head -= 1;
            }
            let mut tail = line.len() - TAIL;
            while !line.is_char_boundary(tail) {
                tail += 1;
            }
            out.push_str(&format!(
                "{} … ({} bytes) … {}",
                &line[..head],
                line.len(),
                &line[tail..]
            ));
        }
        out.push('\n');
    }
    use std::io::Write;
    // Help piped into `head` may find stdout closed: that is no failure.
    if e.use_stderr() {
        let _ = std::io::stderr().write_all(out.as_bytes());
        ExitCode::from(2)
    } else {
        let _ = std::io::stdout().write_all(out.as_bytes());
        ExitCode::SUCCESS
    }
}
