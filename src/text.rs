//! A deterministic text generator for word-count workloads: words drawn from a Zipf(1)
//! vocabulary of a million words (a few very common words, a long tail), with punctuation
//! and mixed case.

use std::io::Write;
use std::path::Path;

use morpheus_storage::generate::splitmix;

fn word(rank: u64) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "ba", "do", "fi", "gu", "ha", "je",
        "po",
    ];
    let mut w = String::new();
    let mut r = rank;
    loop {
        w.push_str(SYL[(r % 16) as usize]);
        r /= 16;
        if r == 0 {
            break;
        }
    }
    w
}

const VOCABULARY: f64 = 1_000_000.0;

/// Writes about `bytes` bytes of text to `out` (temporary name, then rename). Returns the
/// bytes written.
pub fn write_text(out: &Path, bytes: u64, seed: u64) -> std::io::Result<u64> {
    let tmp = out.with_extension(format!("tmp-{}", std::process::id()));
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    let mut state = seed;
    let mut written = 0u64;
    let mut line = String::new();
    while written < bytes {
        line.clear();
        for i in 0..12 {
            state = splitmix(state);
            // Zipf with exponent 1 (as natural text): log-uniform ranks over a vocabulary
            // of a million words, so frequency falls as 1 / rank.
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let rank = (VOCABULARY.powf(u) as u64).saturating_sub(1);
            let mut wd = word(rank);
            if state & 0x700 == 0 {
                wd = wd.to_uppercase();
            }
            if i > 0 {
                line.push_str(if state & 0xf000 == 0 { ", " } else { " " });
            }
            line.push_str(&wd);
        }
        line.push_str(".\n");
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    std::fs::rename(&tmp, out)?;
    Ok(written)
}
