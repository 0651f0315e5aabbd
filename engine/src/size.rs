//! Human-friendly quantities for flags and job specs: byte sizes (`8MiB`, `512k`, `1.5GB`,
//! `4096`) and durations (`500ms`, `30s`, `10m`, `2h`).

use crate::text::clip;
use std::time::Duration;

/// Splits `text` into a non-negative number and the unit after it (trimmed).
fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    Some((num.parse().ok()?, unit.trim()))
}

/// Parses a byte size. Binary (`KiB`, `MiB`, `GiB`, `TiB`) and decimal (`KB`, `MB`, …)
/// suffixes are accepted, case-insensitively; `K`/`M`/`G`/`T` alone are binary.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (value, unit) = number_and_unit(text).ok_or_else(|| {
        format!(
            "`{}` is not a size (examples: 4096, 64KiB, 8MiB, 1GB)",
            clip(text)
        )
    })?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit `{}` in `{}`",
                clip(other),
                clip(text)
            ))
        }
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size `{}` is out of range", clip(text)));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration: `500ms`, `30s`, `10m`, `2h`, `1d`, or a bare number of seconds.
///
/// # Errors
/// Text that is not a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (value, unit) = number_and_unit(text).ok_or_else(|| {
        format!(
            "`{}` is not a duration (examples: 500ms, 30s, 10m, 2h)",
            clip(text)
        )
    })?;
    let secs = match unit {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" | "mins" => value * 60.0,
        "h" | "hour" | "hours" => value * 3600.0,
        "d" | "day" | "days" => value * 86400.0,
        other => {
            return Err(format!(
                "unknown duration unit `{}` in `{}`",
                clip(other),
                clip(text)
            ))
        }
    };
    Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("duration `{}` is out of range", clip(text)))
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, parse_size};
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration(" 2h ").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("5 fortnights").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("8MiB").unwrap(), 8 << 20);
        assert_eq!(parse_size("1mb").unwrap(), 1_000_000);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("8 parsecs").is_err());
        assert!(parse_size("").is_err());
    }
}
